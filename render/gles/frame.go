package gles

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"unsafe"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/scanout"
)

const maxClip = 32

type cmdKind uint8

const (
	cmdClear cmdKind = iota
	cmdFill
	cmdDraw
)

// cmd is one recorded drawing call.
type cmd struct {
	kind     cmdKind
	tex      *texture
	src, dst image.Rectangle
	c        color.NRGBA
	alpha    float32
}

// frameState is the frame being recorded (caller's goroutine) and run
// (GL thread, during End).
type frameState struct {
	active bool
	buf    *scanout.Buffer
	t      *target
	bounds image.Rectangle
	clip   []image.Rectangle
	clipA  [maxClip + 4]image.Rectangle
	cmds   []cmd
	err    error
	fence  *os.File
	// xf turns the frame (BeginTransformed): bounds, clip and the
	// commands are in the picture's coordinates (the target's size is
	// its target's w and h).
	xf backend.Transform
}

// Begin starts a frame into target. A target seen for the first time is
// set up here (EGLImage import or offscreen framebuffer); later frames
// into it hand nothing to the GL thread until End.
func (r *Renderer) Begin(target *scanout.Buffer, damage []image.Rectangle) error {
	return r.BeginTransformed(target, damage, backend.TransformNormal)
}

// BeginTransformed is Begin for a frame drawn turned by t (see
// render.Transformer).
func (r *Renderer) BeginTransformed(target *scanout.Buffer, damage []image.Rectangle, t backend.Transform) error {
	if r.closed {
		return ErrClosed
	}
	f := &r.frame
	if f.active {
		return errors.New("gles: Begin inside a frame")
	}
	if !t.Valid() {
		return fmt.Errorf("gles: frame turned by %v", t)
	}
	switch target.Format {
	case scanout.XRGB8888, scanout.ARGB8888:
	default:
		return fmt.Errorf("gles: cannot draw into %v", target.Format)
	}
	f.buf, f.err, f.fence = target, nil, nil
	f.xf = t
	f.bounds = image.Rectangle{Max: image.Pt(t.LogicalSize(target.Width, target.Height))}
	f.clip = f.clipA[:0]
	if damage == nil {
		f.clip = append(f.clip, f.bounds)
	} else {
		f.clip = render.AppendDisjoint(f.clip, damage, f.bounds, maxClip)
	}
	f.cmds = f.cmds[:0]
	if t, ok := r.targets[target]; ok && t.w == target.Width && t.h == target.Height {
		f.t = t
		r.touch(target)
	} else if err := r.do(r.beginFn); err != nil {
		f.buf, f.t = nil, nil
		return err
	}
	f.active = true
	return nil
}

// touch moves b to the most recently used end of the LRU list.
func (r *Renderer) touch(b *scanout.Buffer) {
	for i, x := range r.lru {
		if x == b {
			copy(r.lru[i:], r.lru[i+1:])
			r.lru[len(r.lru)-1] = b
			return
		}
	}
}

// glBegin sets up the frame's target (GL thread).
func (r *Renderer) glBegin() error {
	if err := r.checkContext(); err != nil {
		return err
	}
	f := &r.frame
	if old, ok := r.targets[f.buf]; ok { // resized buffer reused: start over
		r.glDropTarget(f.buf, old)
	}
	t, err := r.glNewTarget(f.buf)
	if err != nil {
		return err
	}
	for len(r.targets) >= r.opts.MaxTargets && len(r.lru) > 0 {
		r.glDropTarget(r.lru[0], r.targets[r.lru[0]])
	}
	r.targets[f.buf] = t
	r.lru = append(r.lru, f.buf)
	f.t = t
	return nil
}

// Clear fills the damage with c, made opaque.
func (r *Renderer) Clear(c color.NRGBA) {
	c.A = 255
	r.record(cmd{kind: cmdClear, dst: r.frame.bounds, c: c})
}

// FillRect fills rect (clipped to the damage) with c, blending when c is
// translucent.
func (r *Renderer) FillRect(rect image.Rectangle, c color.NRGBA) {
	if c.A == 0 {
		return
	}
	r.record(cmd{kind: cmdFill, dst: rect.Intersect(r.frame.bounds), c: c})
}

// Draw draws src of t scaled into dst (see render.Renderer).
func (r *Renderer) Draw(t render.Texture, src, dst image.Rectangle, alpha float32) {
	tex, ok := t.(*texture)
	if !ok || tex.r != r || tex.id == 0 {
		if r.frame.err == nil {
			r.frame.err = fmt.Errorf("gles: Draw of a texture this renderer did not make or released (%T)", t)
		}
		return
	}
	if alpha <= 0 || src.Empty() || dst.Empty() {
		return
	}
	r.record(cmd{kind: cmdDraw, tex: tex, src: src, dst: dst, alpha: min(alpha, 1)})
}

func (r *Renderer) record(c cmd) {
	f := &r.frame
	if !f.active {
		return
	}
	if c.dst.Intersect(f.bounds).Empty() {
		return
	}
	f.cmds = append(f.cmds, c)
}

// End runs the frame on the GL thread. For an imported dma-buf target
// the returned fence is a sync_file signalled when the GPU is done (nil
// without EGL_ANDROID_native_fence_sync: then End waits with glFinish);
// for a read-back target the pixels are in its memory when End returns
// and the fence is nil.
func (r *Renderer) End() (*os.File, error) {
	f := &r.frame
	if !f.active {
		return nil, errors.New("gles: End outside a frame")
	}
	err := r.do(r.endFn)
	f.active = false
	f.buf, f.t = nil, nil
	clear(f.cmds) // drop texture references
	f.cmds = f.cmds[:0]
	fence := f.fence
	f.fence = nil
	return fence, errors.Join(f.err, err)
}

// glEnd draws the recorded frame (GL thread).
func (r *Renderer) glEnd() error {
	if err := r.checkContext(); err != nil {
		return err
	}
	l, f, t := r.l, &r.frame, r.frame.t
	r.fc.Call(l.glBindFramebuffer, glFramebuffer, uintptr(t.fbo))
	r.fc.Call(l.glViewport, 0, 0, uintptr(t.w), uintptr(t.h))
	r.fc.Call(l.glEnable, glScissorTest)
	for i := range f.cmds {
		r.glCmd(&f.cmds[i], t)
	}
	if err := r.glCheck("draw (glDrawArrays)"); err != nil {
		return err
	}
	if t.readback {
		if err := r.glReadback(t); err != nil {
			return err
		}
	} else if err := r.glFence(); err != nil {
		return err
	}
	if err := r.checkContext(); err != nil {
		return err
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// glCmd runs one command over every damage rectangle it touches.
func (r *Renderer) glCmd(c *cmd, t *target) {
	l, f := r.l, &r.frame
	var blend bool
	switch c.kind {
	case cmdClear, cmdFill:
		r.useProg(progSolid)
		a := float32(c.c.A) / 255
		cr, cg, cb := float32(c.c.R)/255*a, float32(c.c.G)/255*a, float32(c.c.B)/255*a
		if t.bgr {
			cr, cb = cb, cr
		}
		r.u4 = [4]float32{cr, cg, cb, a}
		r.fc.Call(l.glUniform4fv, uintptr(r.progs[progSolid].color), 1, uintptr(unsafe.Pointer(&r.u4[0])))
		blend = c.c.A != 255
	case cmdDraw:
		tex := c.tex
		if tex.id == 0 { // released after being recorded
			return
		}
		base := progTex
		if tex.external {
			base = progExt
		}
		idx := base + 2*b2i(tex.bgr != t.bgr) + b2i(tex.opaque)
		if r.progs[idx].id == 0 {
			return
		}
		r.useProg(idx)
		p := &r.progs[idx]
		if r.cur.tex != tex.id {
			r.fc.Call(l.glBindTexture, uintptr(tex.target), uintptr(tex.id))
			r.cur.tex = tex.id
		}
		filter := int32(glLinear)
		if c.src.Dx() == c.dst.Dx() && c.src.Dy() == c.dst.Dy() {
			filter = glNearest // unscaled: exact texels
		}
		if tex.filter != filter {
			r.fc.Call(l.glTexParameteri, uintptr(tex.target), glTextureMinFilter, uintptr(filter))
			r.fc.Call(l.glTexParameteri, uintptr(tex.target), glTextureMagFilter, uintptr(filter))
			tex.filter = filter
		}
		tw, th := float32(tex.w), float32(tex.h)
		r.u4 = [4]float32{float32(c.src.Min.X) / tw, float32(c.src.Min.Y) / th, float32(c.src.Dx()) / tw, float32(c.src.Dy()) / th}
		r.fc.Call(l.glUniform4fv, uintptr(p.src), 1, uintptr(unsafe.Pointer(&r.u4[0])))
		r.u4 = [4]float32{c.alpha, c.alpha, c.alpha, c.alpha}
		r.fc.Call(l.glUniform4fv, uintptr(p.alpha), 1, uintptr(unsafe.Pointer(&r.u4[0])))
		blend = !(tex.opaque && c.alpha >= 1)
	}
	p := &r.progs[r.cur.prog]
	if p.xf != f.xf {
		r.setTurn(p, f.xf, t)
	}
	w, h := float32(f.bounds.Dx()), float32(f.bounds.Dy())
	r.u4 = [4]float32{2*float32(c.dst.Min.X)/w - 1, 2*float32(c.dst.Min.Y)/h - 1, 2 * float32(c.dst.Dx()) / w, 2 * float32(c.dst.Dy()) / h}
	r.fc.Call(l.glUniform4fv, uintptr(p.dst), 1, uintptr(unsafe.Pointer(&r.u4[0])))
	if blend != r.cur.blend {
		if blend {
			r.fc.Call(l.glEnable, glBlend)
		} else {
			r.fc.Call(l.glDisable, glBlend)
		}
		r.cur.blend = blend
	}
	for _, d := range f.clip {
		x := c.dst.Intersect(d)
		if x.Empty() {
			continue
		}
		x = f.xf.RectFromLogical(t.w, t.h, x)
		r.fc.Call(l.glScissor, uintptr(x.Min.X), uintptr(x.Min.Y), uintptr(x.Dx()), uintptr(x.Dy()))
		r.fc.Call(l.glDrawArrays, glTriangleStrip, 0, 4)
	}
}

func (r *Renderer) useProg(i int) {
	if r.cur.prog != i {
		r.fc.Call(r.l.glUseProgram, uintptr(r.progs[i].id))
		r.cur.prog = i
	}
}
