package gles

import (
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"github.com/minicomp/minicomp/internal/dl"
)

// Library names (the GLVND/Mesa sonames on Debian and Raspberry Pi OS).
const (
	libEGLName   = "libEGL.so.1"
	libGLESName  = "libGLESv2.so.2"
	eglNone      = 0x3038
	eglExtension = 0x3055
	eglVendor    = 0x3053
	eglVersion   = 0x3054
)

// EGL and GL constants used here (egl.h, eglext.h, gl2.h, gl2ext.h, gl3.h).
const (
	eglDefaultDisplay            = 0
	eglOpenGLESAPI               = 0x30A0
	eglContextMajorVersion       = 0x3098
	eglContextMinorVersion       = 0x30FB
	eglPlatformSurfacelessMesa   = 0x31DD
	eglPlatformDeviceEXT         = 0x313F
	eglDRMDeviceFileEXT          = 0x3233
	eglDRMRenderNodeFileEXT      = 0x3377
	eglResetNotificationStrategy = 0x3138
	eglLoseContextOnReset        = 0x31BF
	eglLinuxDMABufEXT            = 0x3270
	eglLinuxDRMFourCCEXT         = 0x3271
	eglDMABufPlane0FDEXT         = 0x3272
	eglDMABufPlane0OffsetEXT     = 0x3273
	eglDMABufPlane0PitchEXT      = 0x3274
	eglDMABufPlane0ModLoEXT      = 0x3443
	eglDMABufPlane0ModHiEXT      = 0x3444
	eglWidth                     = 0x3057
	eglHeight                    = 0x3056
	eglImagePreservedKHR         = 0x30D2
	eglSyncNativeFenceANDROID    = 0x3144
	eglSyncNativeFenceFDANDROID  = 0x3145
	eglNoNativeFenceFDANDROID    = -1
	eglTrue                      = 1

	glTexture2D           = 0x0DE1
	glTextureExternalOES  = 0x8D65
	glRGBA                = 0x1908
	glUnsignedByte        = 0x1401
	glTextureMinFilter    = 0x2801
	glTextureMagFilter    = 0x2800
	glNearest             = 0x2600
	glLinear              = 0x2601
	glTextureWrapS        = 0x2802
	glTextureWrapT        = 0x2803
	glClampToEdge         = 0x812F
	glFramebuffer         = 0x8D40
	glRenderbuffer        = 0x8D41
	glColorAttachment0    = 0x8CE0
	glFramebufferComplete = 0x8CD5
	glBlend               = 0x0BE2
	glScissorTest         = 0x0C11
	glDither              = 0x0BD0
	glOne                 = 1
	glOneMinusSrcAlpha    = 0x0303
	glArrayBuffer         = 0x8892
	glStaticDraw          = 0x88E4
	glFloat               = 0x1406
	glTriangleStrip       = 5
	glVertexShader        = 0x8B31
	glFragmentShader      = 0x8B30
	glCompileStatus       = 0x8B81
	glLinkStatus          = 0x8B82
	glInfoLogLength       = 0x8B84
	glExtensions          = 0x1F03
	glVersion             = 0x1F02
	glRenderer            = 0x1F01
	glVendor              = 0x1F00
	glUnpackAlignment     = 0x0CF5
	glPackAlignment       = 0x0D05
	glUnpackRowLength     = 0x0CF2
	glPackRowLength       = 0x0D02
	glTexture0            = 0x84C0
	glMaxTextureSize      = 0x0D33
	glNoError             = 0
	glContextLost         = 0x0507
)

// lib holds the loaded libraries and function pointers. Pointers of
// extensions are non-zero only when the extension string lists them
// (Mesa's eglGetProcAddress returns a stub for any name).
type lib struct {
	egl, gles uintptr

	eglGetProcAddress, eglGetError, eglQueryString, eglGetPlatformDisplay, eglInitialize,
	eglTerminate, eglBindAPI, eglCreateContext, eglDestroyContext, eglMakeCurrent,
	eglGetCurrentContext, eglReleaseThread uintptr
	// extensions
	eglQueryDevicesEXT, eglQueryDeviceStringEXT, eglCreateImageKHR, eglDestroyImageKHR,
	eglCreateSyncKHR, eglDestroySyncKHR, eglDupNativeFenceFDANDROID, eglQueryDmaBufModifiersEXT uintptr

	glGetString, glGetError, glGetIntegerv, glEnable, glDisable, glBlendFunc, glViewport, glScissor,
	glGenTextures, glDeleteTextures, glBindTexture, glTexParameteri, glTexImage2D, glTexSubImage2D,
	glPixelStorei, glActiveTexture, glGenFramebuffers, glDeleteFramebuffers, glBindFramebuffer,
	glFramebufferTexture2D, glFramebufferRenderbuffer, glCheckFramebufferStatus, glGenRenderbuffers,
	glDeleteRenderbuffers, glBindRenderbuffer, glGenBuffers, glDeleteBuffers, glBindBuffer,
	glBufferData, glCreateShader, glShaderSource, glCompileShader, glGetShaderiv, glGetShaderInfoLog,
	glDeleteShader, glCreateProgram, glAttachShader, glBindAttribLocation, glLinkProgram,
	glGetProgramiv, glGetProgramInfoLog, glDeleteProgram, glUseProgram, glGetUniformLocation,
	glUniform4fv, glUniform1i, glVertexAttribPointer, glEnableVertexAttribArray, glDrawArrays,
	glReadPixels, glFlush, glFinish uintptr
	// extensions
	glEGLImageTargetTexture2DOES, glEGLImageTargetRenderbufferStorageOES, glGetGraphicsResetStatus uintptr
}

// load opens libEGL and libGLESv2 once per process (they stay loaded).
var load = sync.OnceValues(func() (*lib, error) { return loadLibs() })

func loadLibs() (*lib, error) {
	l := &lib{}
	var err error
	if l.egl, err = dl.Open(libEGLName, true); err != nil {
		return nil, &Error{Call: "dlopen " + libEGLName, Msg: err.Error() + " (install libegl1 and libegl-mesa0)", Err: ErrNoEGL}
	}
	if l.gles, err = dl.Open(libGLESName, true); err != nil {
		return nil, &Error{Call: "dlopen " + libGLESName, Msg: err.Error() + " (install libgles2)", Err: ErrNoEGL}
	}
	syms := []struct {
		lib  uintptr
		name string
		p    *uintptr
	}{
		{l.egl, "eglGetProcAddress", &l.eglGetProcAddress},
		{l.egl, "eglGetError", &l.eglGetError},
		{l.egl, "eglQueryString", &l.eglQueryString},
		{l.egl, "eglInitialize", &l.eglInitialize},
		{l.egl, "eglTerminate", &l.eglTerminate},
		{l.egl, "eglBindAPI", &l.eglBindAPI},
		{l.egl, "eglCreateContext", &l.eglCreateContext},
		{l.egl, "eglDestroyContext", &l.eglDestroyContext},
		{l.egl, "eglMakeCurrent", &l.eglMakeCurrent},
		{l.egl, "eglGetCurrentContext", &l.eglGetCurrentContext},
		{l.egl, "eglReleaseThread", &l.eglReleaseThread},
		{l.gles, "glGetString", &l.glGetString},
		{l.gles, "glGetError", &l.glGetError},
		{l.gles, "glGetIntegerv", &l.glGetIntegerv},
		{l.gles, "glEnable", &l.glEnable},
		{l.gles, "glDisable", &l.glDisable},
		{l.gles, "glBlendFunc", &l.glBlendFunc},
		{l.gles, "glViewport", &l.glViewport},
		{l.gles, "glScissor", &l.glScissor},
		{l.gles, "glGenTextures", &l.glGenTextures},
		{l.gles, "glDeleteTextures", &l.glDeleteTextures},
		{l.gles, "glBindTexture", &l.glBindTexture},
		{l.gles, "glTexParameteri", &l.glTexParameteri},
		{l.gles, "glTexImage2D", &l.glTexImage2D},
		{l.gles, "glTexSubImage2D", &l.glTexSubImage2D},
		{l.gles, "glPixelStorei", &l.glPixelStorei},
		{l.gles, "glActiveTexture", &l.glActiveTexture},
		{l.gles, "glGenFramebuffers", &l.glGenFramebuffers},
		{l.gles, "glDeleteFramebuffers", &l.glDeleteFramebuffers},
		{l.gles, "glBindFramebuffer", &l.glBindFramebuffer},
		{l.gles, "glFramebufferTexture2D", &l.glFramebufferTexture2D},
		{l.gles, "glFramebufferRenderbuffer", &l.glFramebufferRenderbuffer},
		{l.gles, "glCheckFramebufferStatus", &l.glCheckFramebufferStatus},
		{l.gles, "glGenRenderbuffers", &l.glGenRenderbuffers},
		{l.gles, "glDeleteRenderbuffers", &l.glDeleteRenderbuffers},
		{l.gles, "glBindRenderbuffer", &l.glBindRenderbuffer},
		{l.gles, "glGenBuffers", &l.glGenBuffers},
		{l.gles, "glDeleteBuffers", &l.glDeleteBuffers},
		{l.gles, "glBindBuffer", &l.glBindBuffer},
		{l.gles, "glBufferData", &l.glBufferData},
		{l.gles, "glCreateShader", &l.glCreateShader},
		{l.gles, "glShaderSource", &l.glShaderSource},
		{l.gles, "glCompileShader", &l.glCompileShader},
		{l.gles, "glGetShaderiv", &l.glGetShaderiv},
		{l.gles, "glGetShaderInfoLog", &l.glGetShaderInfoLog},
		{l.gles, "glDeleteShader", &l.glDeleteShader},
		{l.gles, "glCreateProgram", &l.glCreateProgram},
		{l.gles, "glAttachShader", &l.glAttachShader},
		{l.gles, "glBindAttribLocation", &l.glBindAttribLocation},
		{l.gles, "glLinkProgram", &l.glLinkProgram},
		{l.gles, "glGetProgramiv", &l.glGetProgramiv},
		{l.gles, "glGetProgramInfoLog", &l.glGetProgramInfoLog},
		{l.gles, "glDeleteProgram", &l.glDeleteProgram},
		{l.gles, "glUseProgram", &l.glUseProgram},
		{l.gles, "glGetUniformLocation", &l.glGetUniformLocation},
		{l.gles, "glUniform4fv", &l.glUniform4fv},
		{l.gles, "glUniform1i", &l.glUniform1i},
		{l.gles, "glVertexAttribPointer", &l.glVertexAttribPointer},
		{l.gles, "glEnableVertexAttribArray", &l.glEnableVertexAttribArray},
		{l.gles, "glDrawArrays", &l.glDrawArrays},
		{l.gles, "glReadPixels", &l.glReadPixels},
		{l.gles, "glFlush", &l.glFlush},
		{l.gles, "glFinish", &l.glFinish},
	}
	for _, s := range syms {
		if *s.p, err = dl.Sym(s.lib, s.name); err != nil {
			return nil, &Error{Call: "dlsym " + s.name, Msg: err.Error(), Err: ErrNoEGL}
		}
	}
	// EGL 1.5's eglGetPlatformDisplay, else the EXT one (same arguments
	// when attribs is NULL).
	if p, err := dl.Sym(l.egl, "eglGetPlatformDisplay"); err == nil {
		l.eglGetPlatformDisplay = p
	} else if exts := l.clientExtensions(); hasExt(exts, "EGL_EXT_platform_base") {
		l.eglGetPlatformDisplay = l.proc("eglGetPlatformDisplayEXT")
	}
	return l, nil
}

// isTrue reads an EGLBoolean (32 bits: the register's upper half is not
// defined on 64-bit ABIs).
func isTrue(v uintptr) bool { return uint32(v) == eglTrue }

// proc returns an extension function's address through eglGetProcAddress.
func (l *lib) proc(name string) uintptr {
	b := dl.CString(name)
	r := dl.Call(l.eglGetProcAddress, uintptr(unsafe.Pointer(&b[0])))
	return r
}

// clientExtensions returns the EGL client extensions (EGL_NO_DISPLAY).
func (l *lib) clientExtensions() string {
	return dl.GoString(dl.Call(l.eglQueryString, 0, eglExtension))
}

// eglErr returns an *Error for a failed EGL call with eglGetError's code.
func (l *lib) eglErr(callName string, sentinel error, msg string) error {
	code := uint32(dl.Call(l.eglGetError))
	return &Error{Call: callName, Code: code, Msg: msg, Err: sentinel}
}

// hasExt reports whether the space-separated list exts holds name.
func hasExt(exts, name string) bool {
	for e := range strings.FieldsSeq(exts) {
		if e == name {
			return true
		}
	}
	return false
}

// extSet is an extension string with names the options disable removed.
type extSet struct {
	all      string
	disabled []string
}

func (s extSet) has(name string) bool {
	for _, d := range s.disabled {
		if d == name {
			return false
		}
	}
	return hasExt(s.all, name)
}

func (s extSet) String() string { return fmt.Sprintf("%d extensions", len(strings.Fields(s.all))) }
