package drm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

// ObjectProps is a mode object's properties by name: ids for atomic
// commits and current values.
type ObjectProps struct {
	IDs    map[string]uint32
	Values map[string]uint64
}

// Props reads every property of a mode object with its name.
func (d *Device) Props(objID, objType uint32) (*ObjectProps, error) {
	ids, vals, err := d.ObjectProperties(objID, objType)
	if err != nil {
		return nil, err
	}
	op := &ObjectProps{IDs: make(map[string]uint32, len(ids)), Values: make(map[string]uint64, len(ids))}
	for i, id := range ids {
		p, err := d.Property(id)
		if err != nil {
			return nil, err
		}
		op.IDs[p.Name] = id
		op.Values[p.Name] = vals[i]
	}
	return op, nil
}

// ID returns the id of the named property or an error naming what is missing.
func (p *ObjectProps) ID(name string) (uint32, error) {
	id, ok := p.IDs[name]
	if !ok {
		return 0, fmt.Errorf("property %q missing", name)
	}
	return id, nil
}

// ErrBadBlob reports an IN_FORMATS (or other) blob that does not parse.
var ErrBadBlob = errors.New("malformed property blob")

// ParseInFormats parses a plane's IN_FORMATS blob (struct
// drm_format_modifier_blob and its arrays) into format → modifiers. It never
// panics on malformed input; it returns ErrBadBlob instead.
func ParseInFormats(blob []byte) (map[uint32][]uint64, error) {
	le := binary.NativeEndian
	hdrSize := int(unsafe.Sizeof(FormatModifierBlob{}))
	if len(blob) < hdrSize {
		return nil, fmt.Errorf("%w: %d bytes, header needs %d", ErrBadBlob, len(blob), hdrSize)
	}
	version := le.Uint32(blob[0:])
	if version != 1 {
		return nil, fmt.Errorf("%w: version %d", ErrBadBlob, version)
	}
	countFormats := uint64(le.Uint32(blob[8:]))
	formatsOff := uint64(le.Uint32(blob[12:]))
	countMods := uint64(le.Uint32(blob[16:]))
	modsOff := uint64(le.Uint32(blob[20:]))
	n := uint64(len(blob))
	if formatsOff > n || countFormats > (n-formatsOff)/4 {
		return nil, fmt.Errorf("%w: %d formats at %d overrun %d bytes", ErrBadBlob, countFormats, formatsOff, n)
	}
	const modSize = 24
	if modsOff > n || countMods > (n-modsOff)/modSize {
		return nil, fmt.Errorf("%w: %d modifiers at %d overrun %d bytes", ErrBadBlob, countMods, modsOff, n)
	}
	formats := make([]uint32, countFormats)
	for i := range formats {
		formats[i] = le.Uint32(blob[formatsOff+uint64(i)*4:])
	}
	out := make(map[uint32][]uint64, len(formats))
	for _, f := range formats {
		if _, ok := out[f]; !ok {
			out[f] = nil
		}
	}
	for i := uint64(0); i < countMods; i++ {
		m := blob[modsOff+i*modSize:]
		mask := le.Uint64(m[0:])
		offset := uint64(le.Uint32(m[8:]))
		mod := le.Uint64(m[16:])
		for bit := uint64(0); bit < 64; bit++ {
			if mask&(1<<bit) == 0 {
				continue
			}
			idx := offset + bit
			if idx >= countFormats {
				return nil, fmt.Errorf("%w: modifier %s names format %d of %d", ErrBadBlob, ModifierName(mod), idx, countFormats)
			}
			f := formats[idx]
			out[f] = append(out[f], mod)
		}
	}
	return out, nil
}

// BuildInFormats is the inverse of ParseInFormats, for tests and fakes.
func BuildInFormats(formats []uint32, mods map[uint32][]uint64) []byte {
	type entry struct {
		mask   uint64
		offset uint32
		mod    uint64
	}
	var entries []entry
	index := map[uint64]int{}
	for i, f := range formats {
		for _, m := range mods[f] {
			off := uint32(i / 64 * 64)
			key := m ^ uint64(off)<<40
			j, ok := index[key]
			if !ok {
				j = len(entries)
				index[key] = j
				entries = append(entries, entry{offset: off, mod: m})
			}
			entries[j].mask |= 1 << (uint(i) - uint(off))
		}
	}
	le := binary.NativeEndian
	hdr := 24
	fOff := hdr
	mOff := (fOff + 4*len(formats) + 7) &^ 7
	b := make([]byte, mOff+24*len(entries))
	le.PutUint32(b[0:], 1)
	le.PutUint32(b[8:], uint32(len(formats)))
	le.PutUint32(b[12:], uint32(fOff))
	le.PutUint32(b[16:], uint32(len(entries)))
	le.PutUint32(b[20:], uint32(mOff))
	for i, f := range formats {
		le.PutUint32(b[fOff+4*i:], f)
	}
	for i, e := range entries {
		p := b[mOff+24*i:]
		le.PutUint64(p[0:], e.mask)
		le.PutUint32(p[8:], e.offset)
		le.PutUint64(p[16:], e.mod)
	}
	return b
}
