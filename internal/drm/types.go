package drm

import "structs"

// Kernel structs of include/uapi/drm/drm.h and drm_mode.h. Each carries
// structs.HostLayout and explicit padding wherever the kernel's layout would
// otherwise differ from Go's on 32-bit arm (Go aligns 64-bit fields to 4
// bytes there, the ARM EABI to 8). layout_test.go checks every size and the
// offsets that matter against the C compilers for amd64, arm64 and arm.

// Version is struct drm_version (drm.h).
type Version struct {
	_          structs.HostLayout
	Major      int32
	Minor      int32
	Patchlevel int32
	NameLen    uintptr // __kernel_size_t
	Name       uintptr // char __user *
	DateLen    uintptr
	Date       uintptr
	DescLen    uintptr
	Desc       uintptr
}

// GemClose is struct drm_gem_close (drm.h).
type GemClose struct {
	_      structs.HostLayout
	Handle uint32
	Pad    uint32
}

// GetCap is struct drm_get_cap (drm.h).
type GetCap struct {
	_          structs.HostLayout
	Capability uint64
	Value      uint64
}

// SetClientCap is struct drm_set_client_cap (drm.h).
type SetClientCap struct {
	_          structs.HostLayout
	Capability uint64
	Value      uint64
}

// PrimeHandle is struct drm_prime_handle (drm.h).
type PrimeHandle struct {
	_      structs.HostLayout
	Handle uint32
	Flags  uint32
	FD     int32
}

// ModeCardRes is struct drm_mode_card_res (drm_mode.h).
type ModeCardRes struct {
	_               structs.HostLayout
	FBIDPtr         uint64
	CRTCIDPtr       uint64
	ConnectorIDPtr  uint64
	EncoderIDPtr    uint64
	CountFBs        uint32
	CountCRTCs      uint32
	CountConnectors uint32
	CountEncoders   uint32
	MinWidth        uint32
	MaxWidth        uint32
	MinHeight       uint32
	MaxHeight       uint32
}

// ModeInfo is struct drm_mode_modeinfo (drm_mode.h): one display mode.
type ModeInfo struct {
	_          structs.HostLayout
	Clock      uint32
	HDisplay   uint16
	HSyncStart uint16
	HSyncEnd   uint16
	HTotal     uint16
	HSkew      uint16
	VDisplay   uint16
	VSyncStart uint16
	VSyncEnd   uint16
	VTotal     uint16
	VScan      uint16
	VRefresh   uint32
	Flags      uint32
	Type       uint32
	NameBytes  [32]byte
}

// ModeCRTC is struct drm_mode_crtc (drm_mode.h).
type ModeCRTC struct {
	_                structs.HostLayout
	SetConnectorsPtr uint64
	CountConnectors  uint32
	CRTCID           uint32
	FBID             uint32
	X                uint32
	Y                uint32
	GammaSize        uint32
	ModeValid        uint32
	Mode             ModeInfo
}

// ModeGetEncoder is struct drm_mode_get_encoder (drm_mode.h).
type ModeGetEncoder struct {
	_              structs.HostLayout
	EncoderID      uint32
	EncoderType    uint32
	CRTCID         uint32
	PossibleCRTCs  uint32
	PossibleClones uint32
}

// ModeGetConnector is struct drm_mode_get_connector (drm_mode.h).
type ModeGetConnector struct {
	_               structs.HostLayout
	EncodersPtr     uint64
	ModesPtr        uint64
	PropsPtr        uint64
	PropValuesPtr   uint64
	CountModes      uint32
	CountProps      uint32
	CountEncoders   uint32
	EncoderID       uint32
	ConnectorID     uint32
	ConnectorType   uint32
	ConnectorTypeID uint32
	Connection      uint32
	MMWidth         uint32
	MMHeight        uint32
	Subpixel        uint32
	Pad             uint32
}

// ModeGetProperty is struct drm_mode_get_property (drm_mode.h).
type ModeGetProperty struct {
	_              structs.HostLayout
	ValuesPtr      uint64
	EnumBlobPtr    uint64
	PropID         uint32
	Flags          uint32
	Name           [32]byte
	CountValues    uint32
	CountEnumBlobs uint32
}

// ModePropertyEnum is struct drm_mode_property_enum (drm_mode.h).
type ModePropertyEnum struct {
	_     structs.HostLayout
	Value uint64
	Name  [32]byte
}

// ModeGetBlob is struct drm_mode_get_blob (drm_mode.h).
type ModeGetBlob struct {
	_      structs.HostLayout
	BlobID uint32
	Length uint32
	Data   uint64
}

// ModeCreateBlob is struct drm_mode_create_blob (drm_mode.h).
type ModeCreateBlob struct {
	_      structs.HostLayout
	Data   uint64
	Length uint32
	BlobID uint32
}

// ModeDestroyBlob is struct drm_mode_destroy_blob (drm_mode.h).
type ModeDestroyBlob struct {
	_      structs.HostLayout
	BlobID uint32
}

// ModeCreateDumb is struct drm_mode_create_dumb (drm_mode.h).
type ModeCreateDumb struct {
	_      structs.HostLayout
	Height uint32
	Width  uint32
	BPP    uint32
	Flags  uint32
	Handle uint32
	Pitch  uint32
	Size   uint64
}

// ModeMapDumb is struct drm_mode_map_dumb (drm_mode.h).
type ModeMapDumb struct {
	_      structs.HostLayout
	Handle uint32
	Pad    uint32
	Offset uint64
}

// ModeDestroyDumb is struct drm_mode_destroy_dumb (drm_mode.h).
type ModeDestroyDumb struct {
	_      structs.HostLayout
	Handle uint32
}

// ModeGetPlaneRes is struct drm_mode_get_plane_res (drm_mode.h).
type ModeGetPlaneRes struct {
	_           structs.HostLayout
	PlaneIDPtr  uint64
	CountPlanes uint32
	Pad         uint32 // tail padding the kernel has on every ABI
}

// ModeGetPlane is struct drm_mode_get_plane (drm_mode.h).
type ModeGetPlane struct {
	_                structs.HostLayout
	PlaneID          uint32
	CRTCID           uint32
	FBID             uint32
	PossibleCRTCs    uint32
	GammaSize        uint32
	CountFormatTypes uint32
	FormatTypePtr    uint64
}

// ModeFBCmd2 is struct drm_mode_fb_cmd2 (drm_mode.h).
type ModeFBCmd2 struct {
	_           structs.HostLayout
	FBID        uint32
	Width       uint32
	Height      uint32
	PixelFormat uint32
	Flags       uint32
	Handles     [4]uint32
	Pitches     [4]uint32
	Offsets     [4]uint32
	Pad         uint32 // the kernel aligns Modifier to 8 on every ABI
	Modifier    [4]uint64
}

// ModeObjGetProperties is struct drm_mode_obj_get_properties (drm_mode.h).
type ModeObjGetProperties struct {
	_             structs.HostLayout
	PropsPtr      uint64
	PropValuesPtr uint64
	CountProps    uint32
	ObjID         uint32
	ObjType       uint32
	Pad           uint32 // tail padding the kernel has on every ABI
}

// ModeAtomic is struct drm_mode_atomic (drm_mode.h).
type ModeAtomic struct {
	_             structs.HostLayout
	Flags         uint32
	CountObjs     uint32
	ObjsPtr       uint64
	CountPropsPtr uint64
	PropsPtr      uint64
	PropValuesPtr uint64
	Reserved      uint64
	UserData      uint64
}

// Event is struct drm_event (drm.h), the header of every event read from a
// DRM fd.
type Event struct {
	_      structs.HostLayout
	Type   uint32
	Length uint32
}

// EventVblank is struct drm_event_vblank (drm.h), also used for page-flip
// completion events.
type EventVblank struct {
	_        structs.HostLayout
	Base     Event
	UserData uint64
	TvSec    uint32
	TvUsec   uint32
	Sequence uint32
	CRTCID   uint32
}

// FormatModifierBlob is struct drm_format_modifier_blob (drm_mode.h), the
// header of a plane's IN_FORMATS blob.
type FormatModifierBlob struct {
	_               structs.HostLayout
	Version         uint32
	Flags           uint32
	CountFormats    uint32
	FormatsOffset   uint32
	CountModifiers  uint32
	ModifiersOffset uint32
}

// FormatModifier is struct drm_format_modifier (drm_mode.h).
type FormatModifier struct {
	_        structs.HostLayout
	Formats  uint64 // bitmask of formats, relative to Offset
	Offset   uint32
	Pad      uint32
	Modifier uint64
}
