// Package gles is minicomp's GPU renderer: EGL + OpenGL ES through
// github.com/ebitengine/purego (no cgo). It implements render.Renderer
// with GLES 2.0 as the baseline and uses GLES 3.x features (pack/unpack
// row lengths) when the context has them.
//
// Render targets that are real dma-bufs are imported as EGLImages bound
// to framebuffer objects when EGL_EXT_image_dma_buf_import is present —
// on a Pi that is the import into v3d — and the frame ends with a native
// fence (EGL_ANDROID_native_fence_sync) for the Presenter. Otherwise
// (CPU-only targets, or no import: Mesa llvmpipe without /dev/dri) the
// renderer draws into an offscreen framebuffer kept per target and reads
// back only the damaged rows into the target's mapping.
//
// Every EGL and GL call runs on one goroutine locked to its OS thread; the
// Renderer's methods hand work to it, so they may be called from any
// goroutine (one at a time). Drawing calls are recorded and run at End:
// one hand-over per frame, no allocation per frame.
//
// What CI (Mesa llvmpipe, EGL surfaceless, no /dev/dri) exercises: context
// creation, shader builds, drawing, damaged-row readback, texture uploads,
// error paths. What it cannot: EGL_EXT_image_dma_buf_import (render
// targets and client buffers as EGLImages, external-OES sampling,
// modifiers), EGL_ANDROID_native_fence_sync fences, picking a DRM device
// by render node, a GPU reset. Those paths are written to the Khronos
// specifications and gated on their extension strings. The amd64 rig guest
// (test/rig, testdata/rig-mesa) runs the host's Mesa on real drivers:
// virgl (virtio_gpu: import, native fences) and kms_swrast on vgem.
//
// Software GL (Mesa's kms_swrast, swrast, llvmpipe: Info.Software) is no
// GPU: its dma-buf import is never used. Mesa 22.3's kms_swrast maps an
// imported buffer with DRM_IOCTL_MODE_MAP_DUMB, which the kernel refuses
// for imported objects, and crashes in glFinish at the end of the first
// frame (rig_mesa_test.go shows it); targets are drawn offscreen and read
// back instead.
package gles

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/dl"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/scanout"
)

// Options configure New.
type Options struct {
	// Device is the DRM render node to render with (e.g.
	// "/dev/dri/renderD128"), matched against EGL's devices
	// (EGL_EXT_device_enumeration + EGL_EXT_platform_device). Empty: the
	// surfaceless Mesa platform (EGL_MESA_platform_surfaceless), the
	// default device.
	Device string
	// Log receives what the renderer found and decided; nil: slog.Default.
	Log *slog.Logger
	// Disable lists EGL/GL extensions to treat as absent (tests, and
	// working around driver bugs).
	Disable []string
	// MaxTargets bounds the per-target framebuffers kept (least recently
	// used go first); 0 means 8.
	MaxTargets int
}

// Info describes the EGL display and GL context a Renderer uses.
type Info struct {
	Platform      string // "surfaceless" or "device <path>"
	EGLVersion    string
	EGLVendor     string
	GLVersion     string
	GLRenderer    string
	GLES3         bool // GLES 3.0 or later: row lengths for pack/unpack
	DMABufImport  bool // EGL_EXT_image_dma_buf_import (+ GL_OES_EGL_image)
	DMABufMods    bool // EGL_EXT_image_dma_buf_import_modifiers
	ExternalOES   bool // GL_OES_EGL_image_external
	NativeFence   bool // EGL_ANDROID_native_fence_sync
	Robustness    bool // context reset notification (lost context detection)
	NoDMABufCause string
	// Driver is Mesa's driver for the display (EGL_MESA_query_driver):
	// "v3d", "virtio_gpu", "kms_swrast", "swrast", …; "" when EGL does
	// not say.
	Driver string
	// Software: the "GPU" is a software rasterizer (Mesa's kms_swrast or
	// swrast, llvmpipe, softpipe): drawing runs on the CPU. Its dma-buf
	// import is never used (see NoDMABufCause): render targets are drawn
	// offscreen and read back.
	Software bool
}

// trustSoftwareImport turns the software-GL import protection off (tests
// that show why it exists).
var trustSoftwareImport = false

// softwareGL reports whether Mesa's driver name or GL_RENDERER names a
// software rasterizer. virgl's renderer string names the host's GL after
// "virgl" (e.g. "virgl (LLVMPIPE (LLVM 15.0.6, 256 bits))"): only the
// prefix counts.
func softwareGL(driver, renderer string) bool {
	switch driver {
	case "kms_swrast", "swrast":
		return true
	}
	r := strings.ToLower(renderer)
	for _, p := range []string{"llvmpipe", "softpipe", "swrast", "software rasterizer"} {
		if strings.HasPrefix(r, p) {
			return true
		}
	}
	return false
}

// Renderer is the GLES renderer. Create it with New.
type Renderer struct {
	log  *slog.Logger
	opts Options
	l    *lib
	info Info

	// The GL thread and hand-over.
	mu     sync.Mutex // one hand-over at a time
	req    chan func() error
	resp   chan error
	quit   chan struct{}
	closed bool
	lost   bool // set on the GL thread; read after a hand-over

	// EGL objects (GL thread).
	dpy, ctx uintptr
	eglExt   extSet
	glExt    extSet

	// GL objects (GL thread).
	progs   [progCount]program
	quadVBO uint32
	cur     struct {
		prog      int
		tex       uint32
		blend     bool
		filterTex uint32
	}
	u4         [4]float32 // uniform scratch (heap: no escape per call)
	u32        [4]uint32  // glGen*/glGetIntegerv scratch
	fenceAttrs [3]int32
	fc         dl.FastCall // per-frame calls (GL thread)
	maxTex     int
	textures   map[*texture]struct{}
	targets    map[*scanout.Buffer]*target
	lru        []*scanout.Buffer
	scratch    []byte // readback/upload without row lengths

	// Frame state (caller's goroutine; handed over at End).
	frame   frameState
	beginFn func() error
	endFn   func() error
	upFn    func() error
	upReq   upload
}

// New loads EGL and GLES, opens the display for opts.Device, creates a
// GLES context and compiles the shaders. Errors wrap ErrNoEGL,
// ErrNoDevice, ErrMissingExtension or ErrShaderCompile and say which call
// failed and why.
func New(opts Options) (*Renderer, error) {
	l, err := load()
	if err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.MaxTargets <= 0 {
		opts.MaxTargets = 8
	}
	r := &Renderer{log: opts.Log, opts: opts, l: l,
		req: make(chan func() error), resp: make(chan error), quit: make(chan struct{}),
		textures: map[*texture]struct{}{}, targets: map[*scanout.Buffer]*target{}}
	r.beginFn, r.endFn, r.upFn = r.glBegin, r.glEnd, r.glUpload
	go r.loop()
	if err := r.do(r.glInit); err != nil {
		r.do(r.glTeardown)
		close(r.quit)
		return nil, err
	}
	i := r.info
	r.log.Info("gles renderer", "platform", i.Platform, "egl", i.EGLVersion+" "+i.EGLVendor,
		"gl", i.GLVersion, "renderer", i.GLRenderer, "driver", i.Driver, "software", i.Software, "dmabuf_import", i.DMABufImport,
		"native_fence", i.NativeFence, "robustness", i.Robustness)
	if !i.DMABufImport {
		r.log.Warn("gles: dma-buf import unavailable: render targets are drawn offscreen and read back with glReadPixels; client dma-bufs go through the CPU", "why", i.NoDMABufCause)
	}
	return r, nil
}

// loop is the GL thread: every EGL/GL call runs here.
func (r *Renderer) loop() {
	runtime.LockOSThread()
	// The thread is never unlocked: it exits with the goroutine, taking
	// any per-thread EGL state with it.
	for {
		select {
		case fn := <-r.req:
			r.resp <- fn()
		case <-r.quit:
			return
		}
	}
}

// do runs fn on the GL thread and returns its error.
func (r *Renderer) do(fn func() error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.req <- fn
	return <-r.resp
}

// Name returns "gles".
func (r *Renderer) Name() string { return "gles" }

// Info returns what New found.
func (r *Renderer) Info() Info { return r.info }

// glInit runs on the GL thread.
func (r *Renderer) glInit() error {
	l := r.l
	if l.eglGetPlatformDisplay == 0 {
		return &Error{Call: "eglGetPlatformDisplay", Msg: "neither EGL 1.5 nor EGL_EXT_platform_base", Err: ErrNoEGL}
	}
	client := extSet{all: l.clientExtensions(), disabled: r.opts.Disable}
	if client.has("EGL_EXT_device_enumeration") || client.has("EGL_EXT_device_base") {
		l.eglQueryDevicesEXT = l.proc("eglQueryDevicesEXT")
		l.eglQueryDeviceStringEXT = l.proc("eglQueryDeviceStringEXT")
	}
	var err error
	if r.opts.Device != "" {
		if r.dpy, err = r.deviceDisplay(client, r.opts.Device); err != nil {
			return err
		}
		r.info.Platform = "device " + r.opts.Device
	} else {
		if !client.has("EGL_MESA_platform_surfaceless") {
			return &Error{Call: "eglGetPlatformDisplay", Msg: "EGL_MESA_platform_surfaceless is absent and no render node was given", Err: ErrMissingExtension}
		}
		r.dpy = dl.Call(l.eglGetPlatformDisplay, eglPlatformSurfacelessMesa, eglDefaultDisplay, 0)
		if r.dpy == 0 {
			return l.eglErr("eglGetPlatformDisplay(EGL_PLATFORM_SURFACELESS_MESA)", ErrNoEGL, "")
		}
		r.info.Platform = "surfaceless"
	}
	var major, minor int32
	if !isTrue(dl.Call(l.eglInitialize, r.dpy, uintptr(unsafe.Pointer(&major)), uintptr(unsafe.Pointer(&minor)))) {
		err := l.eglErr("eglInitialize", ErrNoEGL, "")
		r.dpy = 0
		return err
	}
	r.info.EGLVersion = dl.GoString(dl.Call(l.eglQueryString, r.dpy, eglVersion))
	r.info.EGLVendor = dl.GoString(dl.Call(l.eglQueryString, r.dpy, eglVendor))
	r.eglExt = extSet{all: dl.GoString(dl.Call(l.eglQueryString, r.dpy, eglExtension)), disabled: r.opts.Disable}
	for _, need := range []string{"EGL_KHR_surfaceless_context", "EGL_KHR_no_config_context"} {
		if !r.eglExt.has(need) {
			return &Error{Call: "eglQueryString(EGL_EXTENSIONS)", Msg: need + " is absent: no context without a surface", Err: ErrMissingExtension}
		}
	}
	if !isTrue(dl.Call(l.eglBindAPI, eglOpenGLESAPI)) {
		return l.eglErr("eglBindAPI(EGL_OPENGL_ES_API)", ErrNoEGL, "")
	}
	robust := r.eglExt.has("EGL_EXT_create_context_robustness")
	for _, v := range []int32{3, 2} {
		for _, rb := range []bool{robust, false} {
			attrs := []int32{eglContextMajorVersion, v}
			if rb {
				attrs = append(attrs, eglResetNotificationStrategy, eglLoseContextOnReset)
			}
			attrs = append(attrs, eglNone)
			r.ctx = dl.Call(l.eglCreateContext, r.dpy, 0, 0, uintptr(unsafe.Pointer(&attrs[0])))
			if r.ctx != 0 {
				r.info.Robustness = rb
				break
			}
		}
		if r.ctx != 0 {
			break
		}
	}
	if r.ctx == 0 {
		return l.eglErr("eglCreateContext(GLES 3 or 2)", ErrNoEGL, "")
	}
	if !isTrue(dl.Call(l.eglMakeCurrent, r.dpy, 0, 0, r.ctx)) {
		return l.eglErr("eglMakeCurrent", ErrNoEGL, "")
	}
	r.info.GLVersion = dl.GoString(dl.Call(l.glGetString, glVersion))
	r.info.GLRenderer = dl.GoString(dl.Call(l.glGetString, glRenderer))
	r.info.GLES3 = strings.HasPrefix(r.info.GLVersion, "OpenGL ES 3")
	r.glExt = extSet{all: dl.GoString(dl.Call(l.glGetString, glExtensions)), disabled: r.opts.Disable}
	dl.Call(l.glGetIntegerv, glMaxTextureSize, uintptr(unsafe.Pointer(&r.u32[0])))
	r.maxTex = int(r.u32[0])

	if r.eglExt.has("EGL_MESA_query_driver") {
		if p := l.proc("eglGetDisplayDriverName"); p != 0 {
			r.info.Driver = dl.GoString(dl.Call(p, r.dpy))
		}
	}
	r.info.Software = softwareGL(r.info.Driver, r.info.GLRenderer)

	// Extensions, each gated on its string.
	if r.eglExt.has("EGL_KHR_image_base") {
		l.eglCreateImageKHR = l.proc("eglCreateImageKHR")
		l.eglDestroyImageKHR = l.proc("eglDestroyImageKHR")
	}
	if r.glExt.has("GL_OES_EGL_image") {
		l.glEGLImageTargetTexture2DOES = l.proc("glEGLImageTargetTexture2DOES")
		l.glEGLImageTargetRenderbufferStorageOES = l.proc("glEGLImageTargetRenderbufferStorageOES")
	}
	switch {
	case !r.eglExt.has("EGL_EXT_image_dma_buf_import"):
		r.info.NoDMABufCause = "EGL_EXT_image_dma_buf_import is absent on this display"
		if r.opts.Device == "" {
			r.info.NoDMABufCause += " (surfaceless platform without a DRM device, e.g. llvmpipe with no /dev/dri)"
		}
	case l.eglCreateImageKHR == 0:
		r.info.NoDMABufCause = "EGL_KHR_image_base is absent"
	case l.glEGLImageTargetTexture2DOES == 0:
		r.info.NoDMABufCause = "GL_OES_EGL_image is absent"
	case r.info.Software && !trustSoftwareImport:
		// Measured in test/rig (Mesa 22.3, kms_swrast on vgem): the
		// import succeeds, the first frame's glFinish crashes the process.
		// Software GL gains nothing from drawing in place anyway.
		r.info.NoDMABufCause = fmt.Sprintf("%s is software rendering (%s): Mesa's kms_swrast maps an imported dma-buf "+
			"with DRM_IOCTL_MODE_MAP_DUMB, which the kernel refuses for imported objects, and then crashes in glFinish "+
			"(Mesa 22.3 on vgem); its import is not used", orUnknown(r.info.Driver), r.info.GLRenderer)
	default:
		r.info.DMABufImport = true
	}
	if r.info.DMABufImport && r.eglExt.has("EGL_EXT_image_dma_buf_import_modifiers") {
		r.info.DMABufMods = true
		l.eglQueryDmaBufModifiersEXT = l.proc("eglQueryDmaBufModifiersEXT")
	}
	r.info.ExternalOES = r.glExt.has("GL_OES_EGL_image_external")
	if r.eglExt.has("EGL_ANDROID_native_fence_sync") && r.eglExt.has("EGL_KHR_fence_sync") {
		r.info.NativeFence = true
		l.eglCreateSyncKHR = l.proc("eglCreateSyncKHR")
		l.eglDestroySyncKHR = l.proc("eglDestroySyncKHR")
		l.eglDupNativeFenceFDANDROID = l.proc("eglDupNativeFenceFDANDROID")
	}
	switch {
	case r.info.Robustness && r.glExt.has("GL_KHR_robustness"):
		l.glGetGraphicsResetStatus = l.proc("glGetGraphicsResetStatusKHR")
	case r.info.Robustness && r.glExt.has("GL_EXT_robustness"):
		l.glGetGraphicsResetStatus = l.proc("glGetGraphicsResetStatusEXT")
	default:
		r.info.Robustness = false
	}

	dl.Call(l.glDisable, glDither)
	dl.Call(l.glPixelStorei, glUnpackAlignment, 4)
	dl.Call(l.glPixelStorei, glPackAlignment, 4)
	dl.Call(l.glBlendFunc, glOne, glOneMinusSrcAlpha)
	if err := r.buildPrograms(); err != nil {
		return err
	}
	// One unit quad (two triangles as a strip); each draw maps it with
	// uniforms.
	quad := []float32{0, 0, 1, 0, 0, 1, 1, 1}
	dl.Call(l.glGenBuffers, 1, uintptr(unsafe.Pointer(&r.u32[0])))
	r.quadVBO = r.u32[0]
	dl.Call(l.glBindBuffer, glArrayBuffer, uintptr(r.quadVBO))
	dl.Call(l.glBufferData, glArrayBuffer, uintptr(len(quad)*4), uintptr(unsafe.Pointer(&quad[0])), glStaticDraw)
	runtime.KeepAlive(quad)
	dl.Call(l.glEnableVertexAttribArray, 0)
	dl.Call(l.glVertexAttribPointer, 0, 2, glFloat, 0, 0, 0)
	dl.Call(l.glActiveTexture, glTexture0)
	r.cur.prog, r.cur.tex = -1, 0
	return r.glCheck("init (buffers, state)")
}

func orUnknown(driver string) string {
	if driver == "" {
		return "the driver"
	}
	return driver
}

// deviceDisplay finds the EGL device whose DRM node is path.
func (r *Renderer) deviceDisplay(client extSet, path string) (uintptr, error) {
	l := r.l
	if l.eglQueryDevicesEXT == 0 || !client.has("EGL_EXT_platform_device") {
		return 0, &Error{Call: "eglQueryDevicesEXT", Msg: "EGL_EXT_device_enumeration and EGL_EXT_platform_device are needed to pick " + path, Err: ErrMissingExtension}
	}
	var devs [16]uintptr
	var n int32
	if !isTrue(dl.Call(l.eglQueryDevicesEXT, uintptr(len(devs)), uintptr(unsafe.Pointer(&devs[0])), uintptr(unsafe.Pointer(&n)))) {
		return 0, l.eglErr("eglQueryDevicesEXT", ErrNoEGL, "")
	}
	want := sameNode(path)
	var seen []string
	for _, d := range devs[:n] {
		exts := extSet{all: dl.GoString(dl.Call(l.eglQueryDeviceStringEXT, d, eglExtension)), disabled: r.opts.Disable}
		var files []string
		if exts.has("EGL_EXT_device_drm_render_node") {
			files = append(files, dl.GoString(dl.Call(l.eglQueryDeviceStringEXT, d, eglDRMRenderNodeFileEXT)))
		}
		if exts.has("EGL_EXT_device_drm") {
			files = append(files, dl.GoString(dl.Call(l.eglQueryDeviceStringEXT, d, eglDRMDeviceFileEXT)))
		}
		named := false
		for _, f := range files {
			if f == "" {
				continue
			}
			named = true
			seen = append(seen, f)
			if want(f) {
				dpy := dl.Call(l.eglGetPlatformDisplay, eglPlatformDeviceEXT, d, 0)
				if dpy == 0 {
					return 0, l.eglErr("eglGetPlatformDisplay(EGL_PLATFORM_DEVICE_EXT "+f+")", ErrNoEGL, "")
				}
				return dpy, nil
			}
		}
		if !named {
			seen = append(seen, "a device without a DRM node ("+exts.all+")")
		}
	}
	return 0, &Error{Call: "eglQueryDevicesEXT", Msg: fmt.Sprintf("%s is not among EGL's %d devices: %s", path, n, strings.Join(seen, ", ")), Err: ErrNoDevice}
}

// sameNode returns a test for "is this file the same device node as path".
func sameNode(path string) func(string) bool {
	var want unix.Stat_t
	statOK := unix.Stat(path, &want) == nil
	resolved, _ := filepath.EvalSymlinks(path)
	return func(f string) bool {
		if f == path || (resolved != "" && f == resolved) {
			return true
		}
		var st unix.Stat_t
		return statOK && unix.Stat(f, &st) == nil && st.Rdev == want.Rdev && st.Mode&unix.S_IFMT == want.Mode&unix.S_IFMT
	}
}

// glCheck returns glGetError's error, if any, naming what was done.
func (r *Renderer) glCheck(what string) error {
	code := uint32(r.fc.Call(r.l.glGetError))
	if code == glNoError {
		return nil
	}
	// Drain the rest (GL keeps one flag per kind).
	for i := 0; i < 8 && r.fc.Call(r.l.glGetError) != glNoError; i++ {
	}
	if code == glContextLost {
		r.lost = true
		return &Error{Call: what, Code: code, Err: ErrContextLost}
	}
	return &Error{Call: what, Code: code, Err: ErrGL}
}

// checkContext reports a lost context: ours no longer current (destroyed
// behind our back) or a reset reported by the robustness extension.
func (r *Renderer) checkContext() error {
	if r.lost {
		return &Error{Call: "context", Msg: "lost earlier", Err: ErrContextLost}
	}
	if r.fc.Call(r.l.eglGetCurrentContext) != r.ctx || r.ctx == 0 {
		r.lost = true
		return &Error{Call: "eglGetCurrentContext", Msg: "the renderer's context is no longer current", Err: ErrContextLost}
	}
	if r.l.glGetGraphicsResetStatus != 0 {
		if st := uint32(r.fc.Call(r.l.glGetGraphicsResetStatus)); st != glNoError {
			r.lost = true
			return &Error{Call: "glGetGraphicsResetStatus", Code: st, Err: ErrContextLost}
		}
	}
	return nil
}

// Close releases every texture, framebuffer, EGLImage, program and the
// context, and stops the GL thread. The Renderer is unusable after.
func (r *Renderer) Close() error {
	err := r.do(r.glTeardown)
	if errors.Is(err, ErrClosed) {
		return nil
	}
	r.mu.Lock()
	r.closed = true
	close(r.quit)
	r.mu.Unlock()
	return err
}

// glTeardown deletes everything (GL thread). With a lost context only the
// EGL objects are released: GL names died with the context.
func (r *Renderer) glTeardown() error {
	l := r.l
	live := !r.lost && r.ctx != 0 && dl.Call(l.eglGetCurrentContext) == r.ctx
	for t := range r.textures {
		r.glDeleteTexture(t, live)
	}
	for b, t := range r.targets {
		r.glDeleteTarget(t, live)
		delete(r.targets, b)
	}
	r.lru = r.lru[:0]
	if live {
		for i := range r.progs {
			if r.progs[i].id != 0 {
				dl.Call(l.glDeleteProgram, uintptr(r.progs[i].id))
			}
		}
		if r.quadVBO != 0 {
			r.u32[0] = r.quadVBO
			dl.Call(l.glDeleteBuffers, 1, uintptr(unsafe.Pointer(&r.u32[0])))
		}
	}
	r.progs = [progCount]program{}
	r.quadVBO = 0
	var err error
	if r.dpy != 0 {
		dl.Call(l.eglMakeCurrent, r.dpy, 0, 0, 0)
		if r.ctx != 0 {
			dl.Call(l.eglDestroyContext, r.dpy, r.ctx)
			r.ctx = 0
		}
		if !isTrue(dl.Call(l.eglTerminate, r.dpy)) {
			err = l.eglErr("eglTerminate", ErrNoEGL, "")
		}
		r.dpy = 0
	}
	dl.Call(l.eglReleaseThread)
	return err
}

// Stats counts the GL objects a Renderer holds (for leak tests and
// diagnostics).
type Stats struct {
	Textures, Targets, EGLImages int
}

// Stats returns the live GL object counts.
func (r *Renderer) Stats() Stats {
	var s Stats
	r.do(func() error {
		s.Textures = len(r.textures)
		s.Targets = len(r.targets)
		for t := range r.textures {
			if t.image != 0 {
				s.EGLImages++
			}
		}
		for _, t := range r.targets {
			if t.image != 0 {
				s.EGLImages++
			}
		}
		return nil
	})
	return s
}

var (
	_ render.Renderer       = (*Renderer)(nil)
	_ render.DMABufImporter = (*Renderer)(nil)
)
