//go:build nogles

package dl

// FloatFunc leaves fptr unset: a static build loads no library (Open
// fails first with ErrStatic).
func FloatFunc(fptr any, fn uintptr) {}
