package gles

import (
	"fmt"
	"image"
	"unsafe"

	"github.com/minicomp/minicomp/internal/dl"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/scanout"
)

// texture is a GL texture: uploaded pixels (NewTexture) or an imported
// client dma-buf (ImportDMABuf).
type texture struct {
	r        *Renderer
	id       uint32
	target   uint32 // GL_TEXTURE_2D or GL_TEXTURE_EXTERNAL_OES
	w, h     int
	opaque   bool
	bgr      bool // uploaded XRGB/ARGB bytes: GL's red holds blue
	external bool
	filter   int32
	image    uintptr // EGLImage of an imported dma-buf
}

var _ render.Texture = (*texture)(nil)

// upload is Texture.Update's request, handed to the GL thread.
type upload struct {
	tex    *texture
	pix    []byte
	stride int
	damage []image.Rectangle
}

// NewTexture makes a w×h texture for ARGB8888 (premultiplied) or
// XRGB8888 pixels, uploaded as bytes (no BGRA extension needed: the
// shaders swap red and blue where the target needs it).
func (r *Renderer) NewTexture(w, h int, format scanout.Format) (render.Texture, error) {
	var opaque bool
	switch format {
	case scanout.XRGB8888:
		opaque = true
	case scanout.ARGB8888:
	default:
		return nil, fmt.Errorf("gles: texture format %v (want ARGB8888 or XRGB8888)", format)
	}
	if w <= 0 || h <= 0 || w > r.maxTex || h > r.maxTex {
		return nil, &Error{Call: "NewTexture", Msg: fmt.Sprintf("size %dx%d (GL_MAX_TEXTURE_SIZE %d)", w, h, r.maxTex), Err: ErrGL}
	}
	t := &texture{r: r, target: glTexture2D, w: w, h: h, opaque: opaque, bgr: true, filter: glNearest}
	err := r.do(func() error {
		if err := r.checkContext(); err != nil {
			return err
		}
		l := r.l
		dl.Call(l.glGenTextures, 1, uintptr(unsafe.Pointer(&r.u32[0])))
		t.id = r.u32[0]
		r.bindTex2D(t.id)
		dl.Call(l.glTexParameteri, glTexture2D, glTextureMinFilter, glNearest)
		dl.Call(l.glTexParameteri, glTexture2D, glTextureMagFilter, glNearest)
		dl.Call(l.glTexParameteri, glTexture2D, glTextureWrapS, glClampToEdge)
		dl.Call(l.glTexParameteri, glTexture2D, glTextureWrapT, glClampToEdge)
		dl.Call(l.glTexImage2D, glTexture2D, 0, glRGBA, uintptr(w), uintptr(h), 0, glRGBA, glUnsignedByte, 0)
		if err := r.glCheck(fmt.Sprintf("glTexImage2D %dx%d", w, h)); err != nil {
			r.glDeleteTexture(t, true)
			return err
		}
		r.textures[t] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Size returns the texture's size.
func (t *texture) Size() (int, int) { return t.w, t.h }

// Update uploads the damaged rectangles of pix (glTexSubImage2D with
// GL_UNPACK_ROW_LENGTH on GLES 3 / EXT_unpack_subimage; row by row
// otherwise).
func (t *texture) Update(pix []byte, stride int, damage []image.Rectangle) error {
	if t.image != 0 {
		return fmt.Errorf("gles: Update of an imported dma-buf texture (it samples the buffer itself)")
	}
	if err := render.CheckPixels(pix, stride, t.w, t.h); err != nil {
		return err
	}
	r := t.r
	r.upReq = upload{tex: t, pix: pix, stride: stride, damage: damage}
	err := r.do(r.upFn)
	r.upReq = upload{}
	return err
}

// glUpload runs Update on the GL thread.
func (r *Renderer) glUpload() error {
	if err := r.checkContext(); err != nil {
		return err
	}
	u := &r.upReq
	t := u.tex
	if t.id == 0 {
		return fmt.Errorf("gles: Update of a released texture")
	}
	r.bindTex2D(t.id)
	bounds := image.Rect(0, 0, t.w, t.h)
	if u.damage == nil {
		r.glUploadRect(u.pix, u.stride, t.w, 0, 0, t.w, t.h)
	}
	for _, d := range u.damage {
		if d = d.Intersect(bounds); !d.Empty() {
			r.glUploadRect(u.pix, u.stride, t.w, d.Min.X, d.Min.Y, d.Dx(), d.Dy())
		}
	}
	return r.glCheck("glTexSubImage2D")
}

// glUploadRect uploads a rectangle of pix (stride bytes a row) into the
// bound 2D texture of width texW.
func (r *Renderer) glUploadRect(pix []byte, stride, texW, x, y, w, h int) {
	l := r.l
	off := y*stride + x*4
	rowLen := (r.info.GLES3 || r.glExt.has("GL_EXT_unpack_subimage")) && stride%4 == 0
	switch {
	case rowLen:
		r.fc.Call(l.glPixelStorei, glUnpackRowLength, uintptr(stride/4))
		r.fc.Call(l.glTexSubImage2D, glTexture2D, 0, uintptr(x), uintptr(y), uintptr(w), uintptr(h), glRGBA, glUnsignedByte, uintptr(unsafe.Pointer(&pix[off])))
		r.fc.Call(l.glPixelStorei, glUnpackRowLength, 0)
	case stride == texW*4:
		// Whole rows are contiguous: upload the damaged rows full width.
		r.fc.Call(l.glTexSubImage2D, glTexture2D, 0, 0, uintptr(y), uintptr(texW), uintptr(h), glRGBA, glUnsignedByte, uintptr(unsafe.Pointer(&pix[y*stride])))
	default:
		for row := range h {
			r.fc.Call(l.glTexSubImage2D, glTexture2D, 0, uintptr(x), uintptr(y+row), uintptr(w), 1, glRGBA, glUnsignedByte, uintptr(unsafe.Pointer(&pix[off+row*stride])))
		}
	}
}

// Release deletes the texture (and its EGLImage). Releasing twice, or
// after the renderer closed, is harmless.
func (t *texture) Release() {
	r := t.r
	r.do(func() error {
		if t.id != 0 || t.image != 0 {
			r.glDeleteTexture(t, !r.lost)
		}
		return nil
	})
}

// glDeleteTexture deletes t's GL objects and forgets it.
func (r *Renderer) glDeleteTexture(t *texture, live bool) {
	if live && t.id != 0 {
		r.u32[0] = t.id
		dl.Call(r.l.glDeleteTextures, 1, uintptr(unsafe.Pointer(&r.u32[0])))
		if r.cur.tex == t.id {
			r.cur.tex = 0
		}
	}
	if t.image != 0 && r.dpy != 0 {
		dl.Call(r.l.eglDestroyImageKHR, r.dpy, t.image)
	}
	t.id, t.image = 0, 0
	delete(r.textures, t)
}

// ImportDMABuf makes a texture that samples the client dma-buf b through
// an EGLImage (EGL_EXT_image_dma_buf_import, with the modifier when
// EGL_EXT_image_dma_buf_import_modifiers is there); formats the driver
// marks external-only are sampled through GL_TEXTURE_EXTERNAL_OES.
// Without the extension it fails with ErrNoDMABufImport and the caller
// copies the buffer through the CPU (NewTexture + Update).
func (r *Renderer) ImportDMABuf(b *scanout.Buffer) (render.Texture, error) {
	if !r.info.DMABufImport {
		return nil, &Error{Call: "ImportDMABuf " + b.String(), Msg: r.info.NoDMABufCause, Err: ErrNoDMABufImport}
	}
	if !b.IsDmabuf() {
		return nil, &Error{Call: "ImportDMABuf " + b.String(), Msg: "not a dma-buf (CPU-only memory)", Err: ErrNoDMABufImport}
	}
	t := &texture{r: r, target: glTexture2D, w: b.Width, h: b.Height, filter: glNearest}
	switch b.Format {
	case scanout.ARGB8888, scanout.ABGR8888:
	default:
		t.opaque = true
	}
	err := r.do(func() error {
		if err := r.checkContext(); err != nil {
			return err
		}
		l := r.l
		ext, err := r.externalOnly(b)
		if err != nil {
			return err
		}
		if ext && !r.info.ExternalOES {
			return &Error{Call: "ImportDMABuf " + b.String(), Msg: "format is external-only and GL_OES_EGL_image_external is absent", Err: ErrNoDMABufImport}
		}
		if ext {
			t.external, t.target = true, glTextureExternalOES
		}
		if t.image, err = r.eglImage(b); err != nil {
			return err
		}
		dl.Call(l.glGenTextures, 1, uintptr(unsafe.Pointer(&r.u32[0])))
		t.id = r.u32[0]
		dl.Call(l.glBindTexture, uintptr(t.target), uintptr(t.id))
		r.cur.tex = t.id
		dl.Call(l.glTexParameteri, uintptr(t.target), glTextureMinFilter, glNearest)
		dl.Call(l.glTexParameteri, uintptr(t.target), glTextureMagFilter, glNearest)
		dl.Call(l.glTexParameteri, uintptr(t.target), glTextureWrapS, glClampToEdge)
		dl.Call(l.glTexParameteri, uintptr(t.target), glTextureWrapT, glClampToEdge)
		dl.Call(l.glEGLImageTargetTexture2DOES, uintptr(t.target), t.image)
		r.textures[t] = struct{}{}
		if err := r.glCheck("glEGLImageTargetTexture2DOES " + b.String()); err != nil {
			r.glDeleteTexture(t, true)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// CanImportDMABuf reports whether the driver imports dma-bufs
// (EGL_EXT_image_dma_buf_import) and the context is not lost.
func (r *Renderer) CanImportDMABuf() bool {
	ok := false
	r.do(func() error {
		ok = r.info.DMABufImport && !r.lost
		return nil
	})
	return ok
}

// externalOnly asks EGL whether b's format+modifier can only be sampled
// as an external texture; without the modifiers extension, or when the
// driver lists no modifiers for the format (virgl in Mesa 22.3: it takes
// LINEAR buffers all the same), non-RGB formats are.
func (r *Renderer) externalOnly(b *scanout.Buffer) (bool, error) {
	byFormat := func() bool {
		switch b.Format {
		case scanout.XRGB8888, scanout.ARGB8888, scanout.XBGR8888, scanout.ABGR8888, scanout.RGB565:
			return false
		}
		return true
	}
	if r.l.eglQueryDmaBufModifiersEXT == 0 || b.Modifier == scanout.ModInvalid {
		return byFormat(), nil
	}
	var mods [64]uint64
	var ext [64]uint32
	var n int32
	if !isTrue(dl.Call(r.l.eglQueryDmaBufModifiersEXT, r.dpy, uintptr(b.Format), uintptr(len(mods)),
		uintptr(unsafe.Pointer(&mods[0])), uintptr(unsafe.Pointer(&ext[0])), uintptr(unsafe.Pointer(&n)))) {
		return false, r.l.eglErr("eglQueryDmaBufModifiersEXT "+b.Format.String(), ErrNoDMABufImport, "")
	}
	for i := range int(n) {
		if mods[i] == b.Modifier {
			return ext[i] != 0, nil
		}
	}
	if n == 0 && b.Modifier == scanout.ModLinear {
		return byFormat(), nil
	}
	return false, &Error{Call: "eglQueryDmaBufModifiersEXT", Msg: fmt.Sprintf("%v with %s is not importable (%d modifiers listed)", b.Format, scanout.ModifierName(b.Modifier), n), Err: ErrNoDMABufImport}
}

// eglImage imports b as an EGLImage (GL thread).
func (r *Renderer) eglImage(b *scanout.Buffer) (uintptr, error) {
	l := r.l
	attrs := []int32{
		eglWidth, int32(b.Width), eglHeight, int32(b.Height),
		eglLinuxDRMFourCCEXT, int32(b.Format),
		eglDMABufPlane0FDEXT, int32(b.FD()),
		eglDMABufPlane0OffsetEXT, int32(b.Offset),
		eglDMABufPlane0PitchEXT, int32(b.Stride),
	}
	if b.Modifier != scanout.ModInvalid {
		if r.info.DMABufMods {
			attrs = append(attrs, eglDMABufPlane0ModLoEXT, int32(uint32(b.Modifier)), eglDMABufPlane0ModHiEXT, int32(uint32(b.Modifier>>32)))
		} else if b.Modifier != scanout.ModLinear {
			return 0, &Error{Call: "eglCreateImageKHR " + b.String(), Msg: "a modifier other than LINEAR needs EGL_EXT_image_dma_buf_import_modifiers", Err: ErrNoDMABufImport}
		}
	}
	attrs = append(attrs, eglNone)
	img := dl.Call(l.eglCreateImageKHR, r.dpy, 0, eglLinuxDMABufEXT, 0, uintptr(unsafe.Pointer(&attrs[0])))
	if img == 0 {
		return 0, l.eglErr("eglCreateImageKHR(EGL_LINUX_DMA_BUF_EXT "+b.String()+")", ErrNoDMABufImport, "the driver refused the buffer")
	}
	return img, nil
}
