package drm

import (
	"runtime"
	"unsafe"
)

// AtomicReq accumulates object properties for one atomic commit. Reset and
// reuse it across frames: once its arrays have grown, building and
// committing a request allocates nothing.
type AtomicReq struct {
	objs   []uint32
	counts []uint32
	props  []uint32
	values []uint64
}

// Reset empties the request, keeping its storage.
func (r *AtomicReq) Reset() {
	r.objs, r.counts, r.props, r.values = r.objs[:0], r.counts[:0], r.props[:0], r.values[:0]
}

// Add sets property prop of object obj to value. Properties of one object
// should be added together; Add merges with the last object when it matches.
func (r *AtomicReq) Add(obj, prop uint32, value uint64) {
	if n := len(r.objs); n > 0 && r.objs[n-1] == obj {
		r.counts[n-1]++
	} else {
		r.objs = append(r.objs, obj)
		r.counts = append(r.counts, 1)
	}
	r.props = append(r.props, prop)
	r.values = append(r.values, value)
}

// Len returns the number of properties in the request.
func (r *AtomicReq) Len() int { return len(r.props) }

// Atomic commits (or with AtomicTestOnly, tests) the request. flags are
// AtomicTestOnly, AtomicNonblock, AtomicAllowModeset, PageFlipEvent;
// userData comes back in the flip event.
func (d *Device) Atomic(r *AtomicReq, flags uint32, userData uint64) error {
	a := ModeAtomic{
		Flags:         flags,
		CountObjs:     uint32(len(r.objs)),
		ObjsPtr:       ptr(r.objs),
		CountPropsPtr: ptr(r.counts),
		PropsPtr:      ptr(r.props),
		PropValuesPtr: ptr(r.values),
		UserData:      userData,
	}
	op := "MODE_ATOMIC"
	if flags&AtomicTestOnly != 0 {
		op = "MODE_ATOMIC(TEST_ONLY)"
	}
	err := d.ioctl(op, ioctlModeAtomic, unsafe.Pointer(&a))
	runtime.KeepAlive(r)
	return err
}

// Objects returns the objects the request sets properties of, in order
// (the request's own storage: valid until it changes).
func (r *AtomicReq) Objects() []uint32 { return r.objs }
