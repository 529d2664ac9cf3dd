package drm

import (
	"unsafe"

	"github.com/minicomp/minicomp/internal/ioc"
)

const drmType = 'd'

// DRM ioctl request numbers (include/uapi/drm/drm.h).
var (
	ioctlVersion             = ioc.IOWR(drmType, 0x00, unsafe.Sizeof(Version{}))
	ioctlGemClose            = ioc.IOW(drmType, 0x09, unsafe.Sizeof(GemClose{}))
	ioctlGetCap              = ioc.IOWR(drmType, 0x0c, unsafe.Sizeof(GetCap{}))
	ioctlSetClientCap        = ioc.IOW(drmType, 0x0d, unsafe.Sizeof(SetClientCap{}))
	ioctlSetMaster           = ioc.IO(drmType, 0x1e)
	ioctlDropMaster          = ioc.IO(drmType, 0x1f)
	ioctlPrimeHandleToFD     = ioc.IOWR(drmType, 0x2d, unsafe.Sizeof(PrimeHandle{}))
	ioctlPrimeFDToHandle     = ioc.IOWR(drmType, 0x2e, unsafe.Sizeof(PrimeHandle{}))
	ioctlModeGetResources    = ioc.IOWR(drmType, 0xA0, unsafe.Sizeof(ModeCardRes{}))
	ioctlModeGetCRTC         = ioc.IOWR(drmType, 0xA1, unsafe.Sizeof(ModeCRTC{}))
	ioctlModeGetEncoder      = ioc.IOWR(drmType, 0xA6, unsafe.Sizeof(ModeGetEncoder{}))
	ioctlModeGetConnector    = ioc.IOWR(drmType, 0xA7, unsafe.Sizeof(ModeGetConnector{}))
	ioctlModeGetProperty     = ioc.IOWR(drmType, 0xAA, unsafe.Sizeof(ModeGetProperty{}))
	ioctlModeGetPropBlob     = ioc.IOWR(drmType, 0xAC, unsafe.Sizeof(ModeGetBlob{}))
	ioctlModeRmFB            = ioc.IOWR(drmType, 0xAF, unsafe.Sizeof(uint32(0)))
	ioctlModeCreateDumb      = ioc.IOWR(drmType, 0xB2, unsafe.Sizeof(ModeCreateDumb{}))
	ioctlModeMapDumb         = ioc.IOWR(drmType, 0xB3, unsafe.Sizeof(ModeMapDumb{}))
	ioctlModeDestroyDumb     = ioc.IOWR(drmType, 0xB4, unsafe.Sizeof(ModeDestroyDumb{}))
	ioctlModeGetPlaneRes     = ioc.IOWR(drmType, 0xB5, unsafe.Sizeof(ModeGetPlaneRes{}))
	ioctlModeGetPlane        = ioc.IOWR(drmType, 0xB6, unsafe.Sizeof(ModeGetPlane{}))
	ioctlModeAddFB2          = ioc.IOWR(drmType, 0xB8, unsafe.Sizeof(ModeFBCmd2{}))
	ioctlModeObjGetProps     = ioc.IOWR(drmType, 0xB9, unsafe.Sizeof(ModeObjGetProperties{}))
	ioctlModeAtomic          = ioc.IOWR(drmType, 0xBC, unsafe.Sizeof(ModeAtomic{}))
	ioctlModeCreatePropBlob  = ioc.IOWR(drmType, 0xBD, unsafe.Sizeof(ModeCreateBlob{}))
	ioctlModeDestroyPropBlob = ioc.IOWR(drmType, 0xBE, unsafe.Sizeof(ModeDestroyBlob{}))
	ioctlModeGetFB2          = ioc.IOWR(drmType, 0xCE, unsafe.Sizeof(ModeFBCmd2{}))
)
