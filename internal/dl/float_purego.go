//go:build !nogles

package dl

import "github.com/ebitengine/purego"

// FloatFunc binds fptr (a pointer to a func variable) to the C function
// fn, for the few C functions that take or return a double (libinput's
// coordinates, its acceleration speed), which Call cannot pass: purego
// puts the doubles in the floating-point registers of amd64, arm64 and
// 32-bit arm (hard float). It goes through reflection: a call costs
// a few hundred nanoseconds and allocates; keep it off per-frame paths.
func FloatFunc(fptr any, fn uintptr) { purego.RegisterFunc(fptr, fn) }
