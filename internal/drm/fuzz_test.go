package drm

import (
	"encoding/binary"
	"slices"
	"testing"
)

func TestInFormatsRoundTrip(t *testing.T) {
	formats := []uint32{FormatXRGB8888, FormatARGB8888, FormatRGB565}
	mods := map[uint32][]uint64{
		FormatXRGB8888: {ModLinear, ModBroadcomVC4TTiled},
		FormatARGB8888: {ModLinear, ModBroadcomVC4TTiled},
		FormatRGB565:   {ModLinear},
	}
	got, err := ParseInFormats(BuildInFormats(formats, mods))
	if err != nil {
		t.Fatal(err)
	}
	for f, want := range mods {
		g := got[f]
		slices.Sort(g)
		w := slices.Clone(want)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			t.Errorf("%s: %v, want %v", FormatName(f), g, w)
		}
	}
}

func TestInFormatsRejectsOverruns(t *testing.T) {
	b := BuildInFormats([]uint32{FormatXRGB8888}, map[uint32][]uint64{FormatXRGB8888: {ModLinear}})
	bad := slices.Clone(b)
	binary.NativeEndian.PutUint32(bad[8:], 1000) // count_formats
	if _, err := ParseInFormats(bad); err == nil {
		t.Error("format count past the end accepted")
	}
	bad = slices.Clone(b)
	binary.NativeEndian.PutUint32(bad[16:], 1<<30) // count_modifiers
	if _, err := ParseInFormats(bad); err == nil {
		t.Error("modifier count past the end accepted")
	}
	bad = slices.Clone(b)
	binary.NativeEndian.PutUint64(bad[binary.NativeEndian.Uint32(bad[20:]):], 1<<5) // names format 5 of 1
	if _, err := ParseInFormats(bad); err == nil {
		t.Error("modifier naming a missing format accepted")
	}
	if _, err := ParseInFormats(b[:10]); err == nil {
		t.Error("truncated header accepted")
	}
}

func FuzzParseInFormats(f *testing.F) {
	f.Add(BuildInFormats([]uint32{FormatXRGB8888, FormatARGB8888}, map[uint32][]uint64{FormatXRGB8888: {ModLinear}, FormatARGB8888: {ModLinear, ModBroadcomUIF}}))
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseInFormats(b)
		if err != nil {
			return
		}
		for f, mods := range m {
			_ = FormatName(f)
			for _, mod := range mods {
				_ = ModifierName(mod)
			}
		}
	})
}

func eventBytes(typ uint32, seq uint32) []byte {
	b := make([]byte, 32)
	binary.NativeEndian.PutUint32(b[0:], typ)
	binary.NativeEndian.PutUint32(b[4:], 32)
	binary.NativeEndian.PutUint64(b[8:], 77)
	binary.NativeEndian.PutUint32(b[16:], 3)
	binary.NativeEndian.PutUint32(b[20:], 500)
	binary.NativeEndian.PutUint32(b[24:], seq)
	return b
}

func TestParseEvents(t *testing.T) {
	b := append(eventBytes(EventTypeFlipComplete, 9), eventBytes(0x80000000, 1)...)
	b = append(b, eventBytes(EventTypeVblank, 10)...)
	b = append(b, 1, 2, 3) // a truncated tail
	var got []FlipEvent
	if n := ParseEvents(b, func(e FlipEvent) { got = append(got, e) }); n != 2 {
		t.Fatalf("handled %d", n)
	}
	if got[0].Sequence != 9 || got[0].UserData != 77 || got[0].Time.Microseconds() != 3000500 || got[1].Sequence != 10 {
		t.Fatalf("%+v", got)
	}
}

func FuzzParseEvents(f *testing.F) {
	f.Add(eventBytes(EventTypeFlipComplete, 1))
	f.Add([]byte{2, 0, 0, 0, 8, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseEvents(b, func(FlipEvent) {})
	})
}
