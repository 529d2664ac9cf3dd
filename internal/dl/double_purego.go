//go:build !nogles

package dl

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// DoubleCaller calls C functions that return a double without allocating,
// for per-event paths (libinput's motion deltas and positions), where
// FloatFunc's reflection costs three allocations a call. It calls them
// through libffi's ffi_call, which writes the double into memory: the
// call itself passes only integers and pointers, as Call does, so it
// works the same on amd64, arm64 and 32-bit arm (hard float). The
// signatures are fn(ptr) and fn(ptr, uint32). A DoubleCaller has one user
// at a time (a goroutine), as a FastCall.
type DoubleCaller struct {
	ffiCall uintptr
	// The call interfaces (ffi_cif, whose size differs by architecture:
	// room for all of them) and their argument types: C holds pointers
	// to these from ffi_prep_cif on, so they live on the heap, kept by
	// the DoubleCaller.
	cif1, cif2 *[16]uint64
	types      *[2]uintptr
	// Per call: the result, the argument values and pointers to them.
	ret     *float64
	args    *[2]uint64
	avalues *[2]uintptr
	fc      FastCall
}

// LibffiName is the libffi soname DoubleCaller loads (Debian libffi8,
// which libwayland-client depends on).
const LibffiName = "libffi.so.8"

// ffiDefaultABI is libffi's FFI_DEFAULT_ABI (ffitarget.h): FFI_UNIX64 on
// amd64, FFI_SYSV on arm64, FFI_VFP on hard-float arm.
var ffiDefaultABI = map[string]uintptr{"amd64": 2, "arm64": 1, "arm": 2}

// selfCheck is NewDoubleCaller's test string (a global: it never moves).
var selfCheck = []byte("-0.375\x00")

// ffi is libffi's functions and types, loaded once.
var ffi struct {
	once                       sync.Once
	err                        error
	prep, call                 uintptr
	tDouble, tPointer, tUint32 uintptr
	atof, strtod               uintptr // libc's, for the self-check
}

func loadFFI() error {
	ffi.once.Do(func() {
		lib, err := Open(LibffiName, false)
		if err != nil {
			ffi.err = fmt.Errorf("dl: %w (Debian package libffi8)", err)
			return
		}
		libc, err := Open("libc.so.6", false)
		if err != nil {
			ffi.err = err
			return
		}
		for _, s := range []struct {
			lib  uintptr
			name string
			p    *uintptr
		}{{lib, "ffi_prep_cif", &ffi.prep}, {lib, "ffi_call", &ffi.call}, {lib, "ffi_type_double", &ffi.tDouble},
			{lib, "ffi_type_pointer", &ffi.tPointer}, {lib, "ffi_type_uint32", &ffi.tUint32},
			{libc, "atof", &ffi.atof}, {libc, "strtod", &ffi.strtod}} {
			if *s.p, err = Sym(s.lib, s.name); err != nil {
				ffi.err = err
				return
			}
		}
	})
	return ffi.err
}

// NewDoubleCaller prepares the two signatures (libffi is loaded once).
// Without libffi (or on another architecture, or when a self-check call
// gives a wrong value) it fails: use FloatFunc.
func NewDoubleCaller() (*DoubleCaller, error) {
	abi, ok := ffiDefaultABI[runtime.GOARCH]
	if !ok {
		return nil, fmt.Errorf("dl: no libffi ABI for %s", runtime.GOARCH)
	}
	if err := loadFFI(); err != nil {
		return nil, err
	}
	d := &DoubleCaller{ffiCall: ffi.call, cif1: new([16]uint64), cif2: new([16]uint64),
		types: &[2]uintptr{ffi.tPointer, ffi.tUint32}, ret: new(float64), args: new([2]uint64), avalues: new([2]uintptr)}
	types := uintptr(unsafe.Pointer(d.types))
	for n, cif := range []*[16]uint64{d.cif1, d.cif2} {
		if r := int32(Call(ffi.prep, uintptr(unsafe.Pointer(cif)), abi, uintptr(n+1), ffi.tDouble, types)); r != 0 {
			return nil, fmt.Errorf("dl: ffi_prep_cif for %d arguments: status %d", n+1, r)
		}
	}
	d.avalues[0] = uintptr(unsafe.Pointer(&d.args[0]))
	d.avalues[1] = uintptr(unsafe.Pointer(&d.args[1]))
	// A self-check of the ABI and the signatures on this machine: libc's
	// atof and strtod must give back a known value.
	p := uintptr(unsafe.Pointer(&selfCheck[0]))
	if got1, got2 := d.Call1(ffi.atof, p), d.Call2(ffi.strtod, p, 0); got1 != -0.375 || got2 != -0.375 {
		return nil, fmt.Errorf("dl: libffi self-check on %s: atof and strtod of -0.375 gave %v and %v", runtime.GOARCH, got1, got2)
	}
	return d, nil
}

// Call1 returns fn(a), a pointer or pointer-sized integer.
func (d *DoubleCaller) Call1(fn, a uintptr) float64 {
	d.args[0] = uint64(a)
	d.fc.Call(d.ffiCall, uintptr(unsafe.Pointer(d.cif1)), fn, uintptr(unsafe.Pointer(d.ret)), uintptr(unsafe.Pointer(d.avalues)))
	return *d.ret
}

// Call2 returns fn(a, b), b a uint32 (or a C enum).
func (d *DoubleCaller) Call2(fn, a uintptr, b uint32) float64 {
	d.args[0], d.args[1] = uint64(a), uint64(b)
	d.fc.Call(d.ffiCall, uintptr(unsafe.Pointer(d.cif2)), fn, uintptr(unsafe.Pointer(d.ret)), uintptr(unsafe.Pointer(d.avalues)))
	return *d.ret
}
