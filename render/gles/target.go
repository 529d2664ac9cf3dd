package gles

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/minicomp/minicomp/internal/dl"
	"github.com/minicomp/minicomp/scanout"
)

// target is a render target's GL side: an FBO over either an EGLImage of
// the target's dma-buf (drawn in place) or an offscreen texture read back
// into the target's memory.
type target struct {
	buf      *scanout.Buffer
	w, h     int
	fbo      uint32
	tex, rb  uint32
	image    uintptr
	bgr      bool // GL's red channel holds blue (offscreen XRGB/ARGB: memory order)
	readback bool
}

// glNewTarget makes the GL side of b (GL thread).
func (r *Renderer) glNewTarget(b *scanout.Buffer) (*target, error) {
	if r.info.DMABufImport && b.IsDmabuf() {
		t, err := r.glImportTarget(b)
		if err == nil {
			return t, nil
		}
		if b.Modifier != scanout.ModLinear {
			return nil, err
		}
		r.log.Warn("gles: render target import failed; drawing offscreen and reading back", "buffer", b.String(), "err", err)
	}
	if b.Modifier != scanout.ModLinear {
		return nil, &Error{Call: "render target " + b.String(), Msg: "a tiled target needs dma-buf import: " + r.info.NoDMABufCause, Err: ErrNoDMABufImport}
	}
	return r.glOffscreenTarget(b)
}

// glImportTarget imports b as an EGLImage bound to a renderbuffer.
func (r *Renderer) glImportTarget(b *scanout.Buffer) (*target, error) {
	l := r.l
	img, err := r.eglImage(b)
	if err != nil {
		return nil, err
	}
	t := &target{buf: b, w: b.Width, h: b.Height, image: img}
	dl.Call(l.glGenRenderbuffers, 1, uintptr(unsafe.Pointer(&r.u32[0])))
	t.rb = r.u32[0]
	dl.Call(l.glBindRenderbuffer, glRenderbuffer, uintptr(t.rb))
	dl.Call(l.glEGLImageTargetRenderbufferStorageOES, glRenderbuffer, img)
	if err := r.glCheck("glEGLImageTargetRenderbufferStorageOES " + b.String()); err != nil {
		r.glDeleteTarget(t, true)
		return nil, err
	}
	if err := r.glFBO(t, func() {
		dl.Call(l.glFramebufferRenderbuffer, glFramebuffer, glColorAttachment0, glRenderbuffer, uintptr(t.rb))
	}); err != nil {
		r.glDeleteTarget(t, true)
		return nil, err
	}
	return t, nil
}

// glOffscreenTarget makes an offscreen texture FBO for b, filled with b's
// current pixels (so a first damage-only frame blends over the truth).
func (r *Renderer) glOffscreenTarget(b *scanout.Buffer) (*target, error) {
	l := r.l
	if b.Width > r.maxTex || b.Height > r.maxTex {
		return nil, &Error{Call: "render target", Msg: fmt.Sprintf("%dx%d exceeds GL_MAX_TEXTURE_SIZE %d", b.Width, b.Height, r.maxTex), Err: ErrGL}
	}
	mem, err := b.Map()
	if err != nil {
		return nil, err
	}
	t := &target{buf: b, w: b.Width, h: b.Height, bgr: true, readback: true}
	dl.Call(l.glGenTextures, 1, uintptr(unsafe.Pointer(&r.u32[0])))
	t.tex = r.u32[0]
	r.bindTex2D(t.tex)
	dl.Call(l.glTexParameteri, glTexture2D, glTextureMinFilter, glNearest)
	dl.Call(l.glTexParameteri, glTexture2D, glTextureMagFilter, glNearest)
	dl.Call(l.glTexImage2D, glTexture2D, 0, glRGBA, uintptr(t.w), uintptr(t.h), 0, glRGBA, glUnsignedByte, 0)
	if err := r.glCheck(fmt.Sprintf("glTexImage2D %dx%d (offscreen target)", t.w, t.h)); err != nil {
		r.glDeleteTarget(t, true)
		return nil, err
	}
	if err := b.BeginCPUAccess(scanout.Read); err != nil {
		r.glDeleteTarget(t, true)
		return nil, err
	}
	r.glUploadRect(mem[b.Offset:], int(b.Stride), t.w, 0, 0, t.w, t.h)
	if err := b.EndCPUAccess(scanout.Read); err != nil {
		r.glDeleteTarget(t, true)
		return nil, err
	}
	if err := r.glFBO(t, func() {
		dl.Call(l.glFramebufferTexture2D, glFramebuffer, glColorAttachment0, glTexture2D, uintptr(t.tex), 0)
	}); err != nil {
		r.glDeleteTarget(t, true)
		return nil, err
	}
	return t, nil
}

// glFBO creates t's framebuffer with attach and checks it is complete.
func (r *Renderer) glFBO(t *target, attach func()) error {
	l := r.l
	dl.Call(l.glGenFramebuffers, 1, uintptr(unsafe.Pointer(&r.u32[0])))
	t.fbo = r.u32[0]
	dl.Call(l.glBindFramebuffer, glFramebuffer, uintptr(t.fbo))
	attach()
	if st := uint32(dl.Call(l.glCheckFramebufferStatus, glFramebuffer)); st != glFramebufferComplete {
		return &Error{Call: "glCheckFramebufferStatus " + t.buf.String(), Code: st, Err: ErrGL}
	}
	return r.glCheck("framebuffer " + t.buf.String())
}

func (r *Renderer) bindTex2D(id uint32) {
	r.fc.Call(r.l.glBindTexture, glTexture2D, uintptr(id))
	r.cur.tex = id
}

// glDropTarget deletes b's target and forgets it.
func (r *Renderer) glDropTarget(b *scanout.Buffer, t *target) {
	if t != nil {
		r.glDeleteTarget(t, !r.lost)
	}
	delete(r.targets, b)
	for i, x := range r.lru {
		if x == b {
			r.lru = append(r.lru[:i], r.lru[i+1:]...)
			break
		}
	}
}

// glDeleteTarget deletes t's GL objects (live: the context still works).
func (r *Renderer) glDeleteTarget(t *target, live bool) {
	l := r.l
	if live {
		if t.fbo != 0 {
			dl.Call(l.glBindFramebuffer, glFramebuffer, 0)
			r.u32[0] = t.fbo
			dl.Call(l.glDeleteFramebuffers, 1, uintptr(unsafe.Pointer(&r.u32[0])))
		}
		if t.tex != 0 {
			r.u32[0] = t.tex
			dl.Call(l.glDeleteTextures, 1, uintptr(unsafe.Pointer(&r.u32[0])))
			if r.cur.tex == t.tex {
				r.cur.tex = 0
			}
		}
		if t.rb != 0 {
			r.u32[0] = t.rb
			dl.Call(l.glDeleteRenderbuffers, 1, uintptr(unsafe.Pointer(&r.u32[0])))
		}
	}
	if t.image != 0 && r.dpy != 0 {
		dl.Call(l.eglDestroyImageKHR, r.dpy, t.image)
	}
	t.fbo, t.tex, t.rb, t.image = 0, 0, 0, 0
}

// Forget releases the framebuffer (and EGLImage) kept for target; call it
// before closing a swapchain buffer the renderer drew into. Buffers not
// forgotten are released when more than Options.MaxTargets are in use,
// and by Close.
func (r *Renderer) Forget(target *scanout.Buffer) {
	r.do(func() error {
		if t, ok := r.targets[target]; ok {
			r.glDropTarget(target, t)
		}
		return nil
	})
}

// glReadback copies the damaged rectangles of t into its buffer's memory.
func (r *Renderer) glReadback(t *target) error {
	l, b := r.l, t.buf
	mem, err := b.Map()
	if err != nil {
		return err
	}
	if err := b.BeginCPUAccess(scanout.Write); err != nil {
		return err
	}
	mem = mem[b.Offset:]
	stride := int(b.Stride)
	rowLen := r.info.GLES3 && stride%4 == 0
	if rowLen {
		r.fc.Call(l.glPixelStorei, glPackRowLength, uintptr(stride/4))
	}
	for _, d := range r.frame.clip {
		d = r.frame.xf.RectFromLogical(t.w, t.h, d)
		off := d.Min.Y*stride + d.Min.X*4
		switch {
		case rowLen, d.Dy() == 1, stride == t.w*4 && d.Min.X == 0 && d.Dx() == t.w:
			r.fc.Call(l.glReadPixels, uintptr(d.Min.X), uintptr(d.Min.Y), uintptr(d.Dx()), uintptr(d.Dy()),
				glRGBA, glUnsignedByte, uintptr(unsafe.Pointer(&mem[off])))
		default: // GLES 2 without row length: through scratch
			n := d.Dx() * d.Dy() * 4
			if cap(r.scratch) < n {
				r.scratch = make([]byte, n)
			}
			s := r.scratch[:n]
			r.fc.Call(l.glReadPixels, uintptr(d.Min.X), uintptr(d.Min.Y), uintptr(d.Dx()), uintptr(d.Dy()),
				glRGBA, glUnsignedByte, uintptr(unsafe.Pointer(&s[0])))
			for y := 0; y < d.Dy(); y++ {
				copy(mem[off+y*stride:off+y*stride+d.Dx()*4], s[y*d.Dx()*4:])
			}
		}
	}
	if rowLen {
		r.fc.Call(l.glPixelStorei, glPackRowLength, 0)
	}
	err = r.glCheck("glReadPixels")
	return errors.Join(err, b.EndCPUAccess(scanout.Write))
}

// glFence ends a frame drawn into an imported dma-buf: a native fence
// (sync_file) when EGL_ANDROID_native_fence_sync is there, else glFinish.
func (r *Renderer) glFence() error {
	l := r.l
	if !r.info.NativeFence {
		r.fc.Call(l.glFinish)
		return nil
	}
	attrs := &r.fenceAttrs
	*attrs = [3]int32{eglSyncNativeFenceFDANDROID, eglNoNativeFenceFDANDROID, eglNone}
	sync := r.fc.Call(l.eglCreateSyncKHR, r.dpy, eglSyncNativeFenceANDROID, uintptr(unsafe.Pointer(&attrs[0])))
	if sync == 0 {
		r.noFence(l.eglErr("eglCreateSyncKHR(EGL_SYNC_NATIVE_FENCE_ANDROID)", ErrGL, ""))
		return nil
	}
	r.fc.Call(l.glFlush) // the fence fd exists once the commands are flushed
	fd := int32(r.fc.Call(l.eglDupNativeFenceFDANDROID, r.dpy, sync))
	r.fc.Call(l.eglDestroySyncKHR, r.dpy, sync)
	if fd < 0 {
		r.noFence(l.eglErr("eglDupNativeFenceFDANDROID", ErrGL, ""))
		return nil
	}
	r.frame.fence = os.NewFile(uintptr(fd), "gles-fence")
	return nil
}

// noFence gives up on native fences after a failure: frames end with
// glFinish from now on (correct, only slower).
func (r *Renderer) noFence(err error) {
	r.log.Warn("gles: native fence failed; ending frames with glFinish instead", "err", err)
	r.info.NativeFence = false
	dl.Call(r.l.glFinish)
}
