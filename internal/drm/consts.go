package drm

// Capabilities for GetCap (drm.h).
const (
	CapDumbBuffer         = 0x1
	CapPrime              = 0x5
	CapTimestampMonotonic = 0x6
	CapAddFB2Modifiers    = 0x10
	CapCRTCInVblankEvent  = 0x12
	CapSyncobj            = 0x13
	PrimeCapImport        = 0x1
	PrimeCapExport        = 0x2
)

// Client capabilities for SetClientCap (drm.h).
const (
	ClientCapStereo3D            = 1
	ClientCapUniversalPlanes     = 2
	ClientCapAtomic              = 3
	ClientCapAspectRatio         = 4
	ClientCapWritebackConnectors = 5
)

// Atomic commit and page flip flags (drm_mode.h).
const (
	PageFlipEvent      = 0x01
	AtomicTestOnly     = 0x0100
	AtomicNonblock     = 0x0200
	AtomicAllowModeset = 0x0400
	FBModifiers        = 1 << 1  // ADDFB2 flag: Modifier is valid
	PrimeFlagCloexec   = 0x80000 // O_CLOEXEC
	PrimeFlagRDWR      = 0x2     // O_RDWR
)

// Mode object types (drm_mode.h).
const (
	ObjectCRTC      = 0xcccccccc
	ObjectConnector = 0xc0c0c0c0
	ObjectEncoder   = 0xe0e0e0e0
	ObjectMode      = 0xdededede
	ObjectProperty  = 0xb0b0b0b0
	ObjectFB        = 0xfbfbfbfb
	ObjectBlob      = 0xbbbbbbbb
	ObjectPlane     = 0xeeeeeeee
)

// Property flags (drm_mode.h).
const (
	PropPending      = 1 << 0
	PropRange        = 1 << 1
	PropImmutable    = 1 << 2
	PropEnum         = 1 << 3
	PropBlob         = 1 << 4
	PropBitmask      = 1 << 5
	PropExtendedType = 0x0000ffc0
	PropObject       = 1 << 6
	PropSignedRange  = 2 << 6
	PropAtomic       = 0x80000000
)

// Plane types, the values of a plane's "type" property.
const (
	PlaneOverlay = 0
	PlanePrimary = 1
	PlaneCursor  = 2
)

// Connector states (drm_mode.h).
const (
	Connected         = 1
	Disconnected      = 2
	UnknownConnection = 3
)

// Connector types (drm_mode.h) that minicomp treats specially.
const (
	ConnectorVirtual   = 15
	ConnectorWriteback = 18
)

// Event types (drm.h).
const (
	EventTypeVblank       = 0x01
	EventTypeFlipComplete = 0x02
	EventTypeCRTCSequence = 0x03
)

// Mode type flags (drm_mode.h).
const (
	ModeTypePreferred = 1 << 3
	ModeTypeDriver    = 1 << 6
)

// Format modifiers (drm_fourcc.h).
const (
	ModLinear  uint64 = 0
	ModInvalid uint64 = 0x00ffffffffffffff
)

// Vendor codes of format modifiers (drm_fourcc.h).
const (
	ModVendorBroadcom = 0x07
)

// ModBroadcomVC4TTiled is DRM_FORMAT_MOD_BROADCOM_VC4_T_TILED.
const ModBroadcomVC4TTiled = uint64(ModVendorBroadcom)<<56 | 1

// ModBroadcomUIF is DRM_FORMAT_MOD_BROADCOM_UIF.
const ModBroadcomUIF = uint64(ModVendorBroadcom)<<56 | 6
