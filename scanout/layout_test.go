package scanout

import (
	"reflect"
	"testing"
)

// The render-native ioctls' structs against their uapi headers (all
// fields __u32, so one layout on amd64, arm64 and arm; the rig runs this
// on each): field order and offsets, sizes, and the ioctl numbers the C
// macros give.
func TestNativeIoctlLayouts(t *testing.T) {
	for _, c := range []struct {
		name   string
		v      any
		fields []string // the header's order
		ioctl  uintptr
		want   uintptr
	}{
		{"drm_v3d_create_bo", v3dCreateBO{}, []string{"Size", "Flags", "Handle", "Offset"},
			ioctlV3DCreateBO, 0xc0106442}, // DRM_IOCTL_V3D_CREATE_BO
		{"drm_virtgpu_resource_create", virtgpuResourceCreate{}, []string{"Target", "Format", "Bind", "Width", "Height",
			"Depth", "ArraySize", "LastLevel", "NrSamples", "Flags", "BOHandle", "ResHandle", "Size", "Stride"},
			ioctlVirtgpuResourceCreate, 0xc0386444}, // DRM_IOCTL_VIRTGPU_RESOURCE_CREATE
	} {
		typ := reflect.TypeOf(c.v)
		if got, want := typ.Size(), uintptr(4*len(c.fields)); got != want {
			t.Errorf("%s: size %d, want %d", c.name, got, want)
		}
		for i, name := range c.fields {
			f, ok := typ.FieldByName(name)
			if !ok || f.Type.Size() != 4 || f.Offset != uintptr(4*i) {
				t.Errorf("%s.%s: %+v, want a 4-byte field at offset %d", c.name, name, f, 4*i)
			}
		}
		if c.ioctl != c.want {
			t.Errorf("%s: ioctl %#x, want %#x", c.name, c.ioctl, c.want)
		}
	}
}
