package ioc

import "testing"

// Known request numbers from the kernel headers.
func TestEncode(t *testing.T) {
	cases := []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"DRM_IOCTL_MODE_ATOMIC", IOWR('d', 0xBC, 56), 0xc03864bc},
		{"DRM_IOCTL_SET_MASTER", IO('d', 0x1e), 0x641e},
		{"DMA_HEAP_IOCTL_ALLOC", IOWR('H', 0, 24), 0xc0184800},
		{"DMA_BUF_IOCTL_SYNC", IOW('b', 0, 8), 0x40086200},
		{"DRM_IOCTL_GEM_CLOSE", IOW('d', 0x09, 8), 0x40086409},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}
