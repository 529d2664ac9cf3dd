package soft

import "testing"

// over matches the per-channel formula for every alpha and channel pair.
func TestOverExact(t *testing.T) {
	ref := func(s, d, a uint32) uint32 {
		out := uint32(0xff000000)
		for _, sh := range [3]uint{16, 8, 0} {
			c := (s>>sh)&0xff + ((d>>sh)&0xff*(255-a)+127)/255
			out |= min(c, 255) << sh
		}
		return out
	}
	for a := uint32(0); a < 256; a++ {
		for sc := uint32(0); sc < 256; sc += 3 {
			for dc := uint32(0); dc < 256; dc++ {
				s := a<<24 | sc<<16 | (255-sc)<<8 | sc/2
				d := 0xff000000 | dc<<16 | (dc^0x5a)<<8 | (255 - dc)
				if got, want := over(s, d, a), ref(s, d, a); got != want {
					t.Fatalf("over(%08x, %08x, %d) = %08x, want %08x", s, d, a, got, want)
				}
			}
		}
	}
}
