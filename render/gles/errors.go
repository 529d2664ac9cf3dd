package gles

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns wraps one of them (test
// with errors.Is) and names the EGL/GL call and its error code.
var (
	// ErrNoEGL: libEGL/libGLESv2 missing, no usable EGL display, or
	// eglInitialize/context creation failed.
	ErrNoEGL = errors.New("EGL unavailable")
	// ErrNoDevice: the requested render node is not among EGL's devices.
	ErrNoDevice = errors.New("no EGL device for the render node")
	// ErrMissingExtension: an EGL/GL extension the renderer needs is absent.
	ErrMissingExtension = errors.New("missing EGL/GL extension")
	// ErrNoDMABufImport: EGL_EXT_image_dma_buf_import is absent (no
	// device, or a driver without it), or the buffer is not a dma-buf.
	ErrNoDMABufImport = errors.New("dma-buf import unavailable")
	// ErrShaderCompile: a shader failed to compile or link.
	ErrShaderCompile = errors.New("shader compile failed")
	// ErrContextLost: the GL context was lost (GPU reset, or destroyed);
	// the renderer is unusable: Close it and fall back (render/auto.Recover).
	ErrContextLost = errors.New("GL context lost")
	// ErrGL: a GL call reported an error.
	ErrGL = errors.New("GL error")
	// ErrClosed: the renderer was closed.
	ErrClosed = errors.New("gles: renderer closed")
)

// Error is a failed EGL or GL call.
type Error struct {
	Call string // e.g. "eglInitialize", "glTexImage2D"
	Code uint32 // EGL or GL error code; 0 when none applies
	Msg  string // more detail, may be empty
	Err  error  // the sentinel
}

func (e *Error) Error() string {
	s := "gles: " + e.Call
	if e.Code != 0 {
		s += ": " + codeName(e.Call, e.Code)
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	return s
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

func codeName(call string, c uint32) string {
	if len(call) >= 3 && call[:3] == "egl" {
		if n, ok := eglErrors[c]; ok {
			return fmt.Sprintf("%s (%#x)", n, c)
		}
	} else if n, ok := glErrors[c]; ok {
		return fmt.Sprintf("%s (%#x)", n, c)
	}
	return fmt.Sprintf("error %#x", c)
}

var eglErrors = map[uint32]string{
	0x3000: "EGL_SUCCESS", 0x3001: "EGL_NOT_INITIALIZED", 0x3002: "EGL_BAD_ACCESS",
	0x3003: "EGL_BAD_ALLOC", 0x3004: "EGL_BAD_ATTRIBUTE", 0x3005: "EGL_BAD_CONFIG",
	0x3006: "EGL_BAD_CONTEXT", 0x3007: "EGL_BAD_CURRENT_SURFACE", 0x3008: "EGL_BAD_DISPLAY",
	0x3009: "EGL_BAD_MATCH", 0x300A: "EGL_BAD_NATIVE_PIXMAP", 0x300B: "EGL_BAD_NATIVE_WINDOW",
	0x300C: "EGL_BAD_PARAMETER", 0x300D: "EGL_BAD_SURFACE", 0x300E: "EGL_CONTEXT_LOST",
}

var glErrors = map[uint32]string{
	0x0500: "GL_INVALID_ENUM", 0x0501: "GL_INVALID_VALUE", 0x0502: "GL_INVALID_OPERATION",
	0x0505: "GL_OUT_OF_MEMORY", 0x0506: "GL_INVALID_FRAMEBUFFER_OPERATION", 0x0507: "GL_CONTEXT_LOST",
	0x8CD6: "GL_FRAMEBUFFER_INCOMPLETE_ATTACHMENT", 0x8CD7: "GL_FRAMEBUFFER_INCOMPLETE_MISSING_ATTACHMENT",
	0x8CD9: "GL_FRAMEBUFFER_INCOMPLETE_DIMENSIONS", 0x8CDD: "GL_FRAMEBUFFER_UNSUPPORTED",
	0x8253: "GL_GUILTY_CONTEXT_RESET", 0x8254: "GL_INNOCENT_CONTEXT_RESET", 0x8255: "GL_UNKNOWN_CONTEXT_RESET",
}
