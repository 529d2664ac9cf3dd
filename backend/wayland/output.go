package wayland

import (
	"context"
	"fmt"
	"image"
	"os"
	"time"

	"github.com/neurlang/wayland/wl"
	"github.com/neurlang/wayland/xdg"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/dmabuf"
	"github.com/minicomp/minicomp/scanout"
)

// maxBuffers bounds a ring grown because the parent held every target.
const maxBuffers = 4

// Output is one window in the parent compositor.
type Output struct {
	b      *Backend
	name   string
	format scanout.Format

	surface  *wl.Surface
	xsurface *xdg.Surface
	toplevel *xdg.Toplevel

	frameCh chan struct{} // a token per frame callback

	// Guarded by b.mu.
	mode        scanout.Mode
	configured  bool   // the first configure arrived
	ackSerial   uint32 // configure to acknowledge with the next commit
	needAck     bool
	confW       int // size from the last xdg_toplevel.configure
	confH       int
	ring        []*slot
	ringW       int
	ringH       int
	strategy    string
	attempts    []scanout.Attempt
	handover    Handover
	handoverWhy string
	frame       int // Next calls, for buffer ages
	pending     bool
	seq         uint64
	frameTime   time.Duration
	stats       scanout.Stats
	windowGone  bool
	damageSent  []image.Rectangle // the last Present's damage_buffer rectangles
	// dmabufFailed: the parent refused a target's dma-buf; the next Next
	// reallocates the targets for wl_shm.
	dmabufFailed bool
	cursor       cursorImage // cursor.go
}

// outListener receives the parent's events for an Output.
type outListener struct{ *Output }

// slot is a render target and the wl_buffer the parent sees it through.
type slot struct {
	buf   *scanout.Buffer
	wb    *bufferProxy
	shm   *scanout.Buffer   // HandoverShmCopy: the wl_shm buffer's memory
	held  bool              // attached and not yet released by the parent
	used  int               // frame number when Next last returned it
	stale []image.Rectangle // HandoverShmCopy: where shm differs from buf
}

func (b *Backend) newOutput(i int, sz backend.Size) (*Output, error) {
	if sz.Width <= 0 || sz.Height <= 0 {
		return nil, fmt.Errorf("wayland: output %d: bad size %dx%d", i+1, sz.Width, sz.Height)
	}
	o := &Output{b: b, name: fmt.Sprintf("WL-%d", i+1), format: b.opts.Format, frameCh: make(chan struct{}, 1)}
	o.mode = makeMode(sz.Width, sz.Height)
	var err error
	if o.surface, err = b.compositor.CreateSurface(); err != nil {
		return nil, fmt.Errorf("wayland: %s: create wl_surface: %w", o.name, err)
	}
	if o.xsurface, err = b.wmBase.GetSurface(o.surface); err != nil {
		return nil, fmt.Errorf("wayland: %s: get xdg_surface: %w", o.name, err)
	}
	o.xsurface.AddConfigureHandler(outListener{o})
	if o.toplevel, err = o.xsurface.GetToplevel(); err != nil {
		return nil, fmt.Errorf("wayland: %s: get xdg_toplevel: %w", o.name, err)
	}
	o.toplevel.AddConfigureHandler(outListener{o})
	o.toplevel.AddCloseHandler(outListener{o})
	title := b.opts.Title + " - " + o.name
	if err := o.toplevel.SetTitle(title); err != nil {
		return nil, fmt.Errorf("wayland: %s: set title: %w", o.name, err)
	}
	if err := o.toplevel.SetAppId("minicomp"); err != nil {
		return nil, fmt.Errorf("wayland: %s: set app id: %w", o.name, err)
	}
	// The initial commit without a buffer asks for the first configure.
	if err := o.surface.Commit(); err != nil {
		return nil, fmt.Errorf("wayland: %s: initial commit: %w", o.name, err)
	}
	return o, nil
}

func makeMode(w, h int) scanout.Mode {
	// The parent's refresh rate is unknown (no wl_output binding here):
	// frames follow its frame callbacks; 60 Hz is what we report.
	return scanout.Mode{Width: w, Height: h, RefreshMilliHz: 60000, Name: fmt.Sprintf("%dx%d", w, h), Preferred: true}
}

// start allocates the targets after the first configure.
func (o *Output) start() error {
	o.b.mu.Lock()
	defer o.b.mu.Unlock()
	if err := o.allocRing(); err != nil {
		return err
	}
	o.b.log.Info("nested output", "output", o.name, "mode", o.mode.String(), "targets", o.strategy,
		"handover", o.handover.String(), "why", o.handoverWhy)
	return nil
}

// HandleToplevelConfigure records the size the parent suggests.
func (o outListener) HandleToplevelConfigure(ev xdg.ToplevelConfigureEvent) {
	o.b.mu.Lock()
	o.confW, o.confH = int(ev.Width), int(ev.Height)
	o.b.mu.Unlock()
}

// HandleSurfaceConfigure applies a configure: a new size (0×0 keeps
// ours) changes the mode now and the targets at the next Next; the
// configure is acknowledged with the next commit.
func (o outListener) HandleSurfaceConfigure(ev xdg.SurfaceConfigureEvent) {
	o.b.mu.Lock()
	o.ackSerial, o.needAck = ev.Serial, true
	first := !o.configured
	o.configured = true
	resized := false
	if o.confW > 0 && o.confH > 0 && (o.confW != o.mode.Width || o.confH != o.mode.Height) {
		o.mode = makeMode(o.confW, o.confH)
		resized = true
	}
	m := o.mode
	if first {
		// Before any target exists, ack at once: the parent may refuse a
		// buffer on a surface whose configure was not acked.
		o.sendAck()
	}
	o.b.cond.Broadcast()
	o.b.mu.Unlock()
	if resized && !first {
		o.b.log.Info("parent resized the window", "output", o.name, "mode", m.String())
		o.b.events.push(backend.Event{Kind: backend.OutputResized, Output: o.Output, Time: now(), Width: m.Width, Height: m.Height})
	} else if resized {
		o.b.log.Info("parent chose the window size", "output", o.name, "mode", m.String())
	}
}

// sendAck acknowledges the pending configure; b.mu held.
func (o *Output) sendAck() {
	if !o.needAck {
		return
	}
	o.needAck = false
	if err := o.xsurface.AckConfigure(o.ackSerial); err != nil {
		o.b.log.Debug("xdg_surface.ack_configure failed", "output", o.name, "err", err)
	}
}

// HandleToplevelClose reports the user closing the window.
func (o outListener) HandleToplevelClose(xdg.ToplevelCloseEvent) {
	o.b.log.Info("parent closed the window", "output", o.name)
	o.b.events.push(backend.Event{Kind: backend.OutputClosed, Output: o.Output, Time: now()})
}

// allocRing (re)allocates the render targets at the mode's size and
// decides their hand-over; b.mu held.
func (o *Output) allocRing() error {
	w, h := o.mode.Width, o.mode.Height
	sc, err := scanout.NewSwapchain(o.b.alloc, o.b.opts.Buffers, w, h, o.format)
	if err != nil {
		return fmt.Errorf("wayland: %s: render targets %dx%d: %w", o.name, w, h, err)
	}
	first := sc.Buffers[0]
	hv, why, err := chooseHandover(targetDesc{format: first.Format, modifier: first.Modifier, isDmabuf: first.IsDmabuf() || o.b.opts.memfdAsDmabuf},
		o.b.caps, handoverPrefs{noDMABuf: o.b.opts.NoDMABuf || o.dmabufFailed, forceCopy: o.b.opts.ForceCopy})
	if err != nil {
		sc.Close()
		return fmt.Errorf("wayland: %s: no way to hand %v frames to %s: %w", o.name, first.Format, o.b.display, err)
	}
	old := o.ring
	o.ring = nil
	o.handover, o.handoverWhy = hv, why
	o.strategy, o.attempts = sc.Strategy, sc.Attempts
	o.ringW, o.ringH = w, h
	for _, buf := range sc.Buffers {
		s, err := o.wrap(buf)
		if err != nil {
			for _, t := range sc.Buffers {
				t.Close()
			}
			o.ring = old
			return err
		}
		o.ring = append(o.ring, s)
	}
	o.dropSlots(old)
	return nil
}

// grow adds a target when the parent holds all of them; b.mu held.
func (o *Output) grow() bool {
	buf, _, err := o.b.alloc.Allocate(o.ringW, o.ringH, o.format)
	if err != nil {
		o.b.log.Warn("cannot add a render target", "output", o.name, "err", err)
		return false
	}
	if buf.IsDmabuf() != o.ring[0].buf.IsDmabuf() {
		o.b.log.Warn("cannot add a render target: the allocator changed strategy", "output", o.name, "buffer", buf.String())
		buf.Close()
		return false
	}
	s, err := o.wrap(buf)
	if err != nil {
		buf.Close()
		o.b.log.Warn("cannot add a render target", "output", o.name, "err", err)
		return false
	}
	o.ring = append(o.ring, s)
	o.b.log.Debug("parent holds every target: added one", "output", o.name, "targets", len(o.ring))
	return true
}

// wrap makes the wl_buffer for a target, as the hand-over says.
func (o *Output) wrap(buf *scanout.Buffer) (*slot, error) {
	s := &slot{buf: buf, stale: []image.Rectangle{image.Rect(0, 0, buf.Width, buf.Height)}}
	s.wb = &bufferProxy{release: func() {
		o.b.mu.Lock()
		s.held = false
		o.b.cond.Broadcast()
		o.b.mu.Unlock()
	}}
	var err error
	switch o.handover {
	case HandoverDmabuf:
		err = o.b.dmabufBuffer(s.wb, buf, func() {
			o.b.mu.Lock()
			defer o.b.mu.Unlock()
			if !o.dmabufFailed {
				o.dmabufFailed = true
				o.b.log.Error("parent refused a dma-buf target (zwp_linux_buffer_params_v1.failed): switching to wl_shm",
					"output", o.name, "buffer", buf.String())
			}
		})
	case HandoverShmZeroCopy:
		err = o.b.shmBuffer(s.wb, buf)
	case HandoverShmCopy:
		s.shm, err = scanout.MemfdStrategy{}.Allocate(buf.Width, buf.Height, buf.Format)
		if err != nil {
			err = fmt.Errorf("wl_shm copy buffer: %w", err)
			break
		}
		if err = o.b.shmBuffer(s.wb, s.shm); err != nil {
			s.shm.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("wayland: %s: wl_buffer for %v (%s): %w", o.name, buf, o.handover, err)
	}
	return s, nil
}

// dropSlots destroys the wl_buffers of old targets and closes them. The
// parent keeps its own reference (mapping or import) to memory it still
// shows, so closing ours is safe.
func (o *Output) dropSlots(slots []*slot) {
	for _, s := range slots {
		if s.wb != nil && s.wb.Context() != nil {
			o.b.ids.retire(s.wb)
			o.b.ctx.SendRequest(s.wb, 0) // wl_buffer.destroy
		}
		s.buf.Close()
		s.shm.Close()
	}
}

// shmBuffer makes wb a wl_buffer on buf's memory through a wl_shm pool.
func (b *Backend) shmBuffer(wb *bufferProxy, buf *scanout.Buffer) error {
	pool, err := b.shm.CreatePool(uintptr(buf.FD()), int32(buf.Size))
	if err != nil {
		return fmt.Errorf("wl_shm.create_pool: %w", err)
	}
	b.ids.register(wb)
	err = b.ctx.SendRequest(pool, 0, wb, int32(buf.Offset), int32(buf.Width), int32(buf.Height), int32(buf.Stride), formatToShm(buf.Format))
	if derr := pool.Destroy(); err == nil && derr != nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("wl_shm_pool.create_buffer: %w", err)
	}
	return nil
}

// paramsProxy is a zwp_linux_buffer_params_v1; failed is reported.
type paramsProxy struct {
	wl.BaseProxy
	failed func()
}

// Dispatch handles zwp_linux_buffer_params_v1.failed (created is not used
// with create_immed).
func (p *paramsProxy) Dispatch(ev *wl.Event) {
	if ev.Opcode == 1 && p.failed != nil {
		p.failed()
	}
}

// dmabufBuffer makes wb a wl_buffer importing buf with create_immed.
// failed runs on the event loop if the parent refuses the import.
func (b *Backend) dmabufBuffer(wb *bufferProxy, buf *scanout.Buffer, failed func()) error {
	params := &paramsProxy{failed: failed}
	b.ids.register(params)
	if err := b.ctx.SendRequest(b.dmabuf, 1, params); err != nil {
		return fmt.Errorf("zwp_linux_dmabuf_v1.create_params: %w", err)
	}
	err := b.ctx.SendRequest(params, 1, uintptr(buf.FD()), uint32(0), buf.Offset, buf.Stride,
		uint32(buf.Modifier>>32), uint32(buf.Modifier))
	if err == nil {
		b.ids.register(wb)
		err = b.ctx.SendRequest(params, 3, wb, int32(buf.Width), int32(buf.Height), uint32(buf.Format), uint32(0))
	}
	b.ids.retire(params)
	if derr := b.ctx.SendRequest(params, 0); err == nil && derr != nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("zwp_linux_buffer_params_v1: %w", err)
	}
	return nil
}

// Name returns "WL-N".
func (o *Output) Name() string { return o.name }

// Mode returns the window's size; it changes when the parent resizes it.
func (o *Output) Mode() scanout.Mode {
	o.b.mu.Lock()
	defer o.b.mu.Unlock()
	return o.mode
}

// Format returns the targets' format.
func (o *Output) Format() scanout.Format { return o.format }

// Handover says how frames reach the parent.
func (o *Output) Handover() Handover {
	o.b.mu.Lock()
	defer o.b.mu.Unlock()
	return o.handover
}

// Next returns a target the parent does not hold, and its age. After a
// resize it first reallocates the targets at the new size. It waits for a
// release only when the parent holds maxBuffers targets.
func (o *Output) Next() (*scanout.Buffer, int, error) {
	b := o.b
	b.mu.Lock()
	defer b.mu.Unlock()
	refused := o.dmabufFailed && o.handover == HandoverDmabuf
	if (refused || o.ringW != o.mode.Width || o.ringH != o.mode.Height) && b.lost == nil && !b.closed {
		if err := o.allocRing(); err != nil {
			b.log.Error("cannot reallocate targets after a resize; keeping the old size", "output", o.name, "err", err)
		} else {
			b.log.Info("targets reallocated", "output", o.name, "mode", o.mode.String(), "handover", o.handover.String())
		}
	}
	var s *slot
	for {
		for _, c := range o.ring {
			if !c.held && (s == nil || c.used > s.used) {
				s = c
			}
		}
		if s != nil {
			break
		}
		if len(o.ring) < maxBuffers && o.grow() {
			continue
		}
		if err := o.goneErr("next"); err != nil {
			return nil, 0, err
		}
		b.cond.Wait()
	}
	o.frame++
	age := 0
	if s.used != 0 {
		age = o.frame - s.used
	}
	s.used = o.frame
	return s.buf, age, nil
}

// lastDamage returns the rectangles the last Present sent as
// damage_buffer.
func (o *Output) lastDamage() []image.Rectangle {
	o.b.mu.Lock()
	defer o.b.mu.Unlock()
	return append([]image.Rectangle(nil), o.damageSent...)
}

// findSlot returns target's slot; b.mu held.
func (o *Output) findSlot(target *scanout.Buffer) *slot {
	for _, s := range o.ring {
		if s.buf == target {
			return s
		}
	}
	return nil
}

// goneErr says why the output cannot present; b.mu held.
func (o *Output) goneErr(op string) error {
	if o.b.lost != nil {
		return fmt.Errorf("wayland: %s %s: %w", o.name, op, o.b.lost)
	}
	if o.b.closed {
		return fmt.Errorf("wayland: %s %s: %w", o.name, op, ErrClosed)
	}
	return nil
}

// Present hands target (from Next) to the parent: attach, damage_buffer
// for the damage rectangles only (nil: all), a frame callback, commit.
// With HandoverShmCopy the damaged part is first copied into the target's
// wl_shm buffer. A render fence is waited for here (the parent knows
// nothing of it); the caller keeps it.
func (o *Output) Present(target *scanout.Buffer, damage []image.Rectangle, fence *os.File) (scanout.Verdict, error) {
	if fence != nil {
		if err := dmabuf.WaitFence(int(fence.Fd()), dmabuf.RenderFenceTimeout); err != nil {
			return scanout.Verdict{}, fmt.Errorf("wayland: %s present: render fence: %w", o.name, err)
		}
	}
	b := o.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := o.goneErr("present"); err != nil {
		return scanout.Verdict{}, err
	}
	if o.pending {
		return scanout.Verdict{}, scanout.ErrFlipPending
	}
	s := o.findSlot(target)
	if s == nil {
		return scanout.Verdict{}, fmt.Errorf("wayland: %s present: %v is not a current target of this output", o.name, target)
	}
	bounds := image.Rect(0, 0, target.Width, target.Height)
	rects := clip(damage, bounds)
	v := scanout.Verdict{Path: scanout.PathDirect}
	switch o.handover {
	case HandoverDmabuf:
		v.Reason = "wayland: dma-buf handed to the parent (zero copy)"
	case HandoverShmZeroCopy:
		v.Reason = "wayland: wl_shm on the memfd target (zero copy)"
	case HandoverShmCopy:
		v = scanout.Verdict{Path: scanout.PathBlit, Reason: "wayland: copied into wl_shm: " + o.handoverWhy}
		if b.opts.NoDMABuf {
			v.Step = scanout.StepDisabled
		} else if target.IsDmabuf() {
			v.Step = scanout.StepFormat
		}
		s.stale = addDamage(s.stale, rects, bounds)
		n := 0
		var err error
		if len(s.stale) > 0 {
			n, err = scanout.CopyDamage(s.shm, target, s.stale)
		}
		if err != nil {
			return scanout.Verdict{}, fmt.Errorf("wayland: %s present: copy into wl_shm: %w", o.name, err)
		}
		s.stale = s.stale[:0]
		o.stats.BytesCopied += uint64(n)
	}
	if b.opts.NoDMABuf && o.handover != HandoverShmCopy {
		v.Reason += " (dma-buf hand-over disabled)"
	}
	if o.ringW == o.mode.Width && o.ringH == o.mode.Height && target.Width == o.ringW && target.Height == o.ringH {
		o.sendAck()
	}
	cb := &callbackProxy{}
	cb.done = func(uint32) { o.frameDone(cb) }
	err := b.send(o.surface, 1, s.wb, int32(0), int32(0)) // attach
	for _, r := range rects {
		if err != nil {
			break
		}
		err = o.surface.DamageBuffer(int32(r.Min.X), int32(r.Min.Y), int32(r.Dx()), int32(r.Dy()))
	}
	if err == nil {
		b.ids.register(cb)
		err = b.send(o.surface, 3, cb) // frame
	}
	if err == nil {
		err = o.surface.Commit()
	}
	if err != nil {
		return scanout.Verdict{}, &backend.LostError{Backend: "wayland", What: "parent compositor " + b.display, Cause: fmt.Errorf("%s present: %w", o.name, err)}
	}
	s.held = true
	o.pending = true
	o.damageSent = rects
	o.stats.Frames++
	if v.Path == scanout.PathDirect {
		o.stats.DirectFrames++
	} else {
		o.stats.BlitFrames++
	}
	if o.handover == HandoverShmCopy {
		for _, t := range o.ring {
			if t != s {
				t.stale = addDamage(t.stale, rects, bounds)
			}
		}
	}
	return v, nil
}

// frameDone handles the frame callback (on the event loop).
func (o *Output) frameDone(cb *callbackProxy) {
	o.b.ids.retire(cb)
	o.b.mu.Lock()
	o.seq++
	o.frameTime = now()
	o.b.mu.Unlock()
	select {
	case o.frameCh <- struct{}{}:
	default:
	}
}

// WaitFrame waits for the parent's frame callback for the last Present:
// the parent's signal that it is a good time to draw the next frame. Time
// is our CLOCK_MONOTONIC when the callback arrived (the callback's own
// timestamp is in milliseconds with an undefined base). It fails, wrapping
// ErrLost, when the parent goes away.
func (o *Output) WaitFrame(ctx context.Context) (backend.Presented, error) {
	b := o.b
	b.mu.Lock()
	if !o.pending {
		f := backend.Presented{Sequence: o.seq, Time: o.frameTime, Path: o.path()}
		err := o.goneErr("wait for frame")
		b.mu.Unlock()
		return f, err
	}
	b.mu.Unlock()
	select {
	case <-ctx.Done():
		return backend.Presented{}, ctx.Err()
	case <-b.gone:
		b.mu.Lock()
		defer b.mu.Unlock()
		return backend.Presented{}, o.goneErr("wait for frame")
	case <-o.frameCh:
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	o.pending = false
	return backend.Presented{Sequence: o.seq, Time: o.frameTime, Path: o.path()}, nil
}

func (o *Output) path() scanout.Path {
	if o.handover == HandoverShmCopy {
		return scanout.PathBlit
	}
	return scanout.PathDirect
}

// Info describes the window and its buffer path; Strategy names the
// targets' allocation strategy and the hand-over, e.g. "memfd → shm
// (zero-copy memfd)".
func (o *Output) Info() backend.Info {
	o.b.mu.Lock()
	defer o.b.mu.Unlock()
	return backend.Info{Backend: "wayland", Output: o.name, Mode: o.mode,
		Display:  "Wayland window on " + o.b.display + ", hand-over " + o.handover.String(),
		Strategy: o.strategy + " → " + o.handover.String(), Attempts: o.attempts,
		Unavailable: o.b.alloc.Unavailable, Stats: o.stats}
}

// destroyWindow destroys the wl_buffers and the window (at Close).
func (o *Output) destroyWindow() {
	o.b.mu.Lock()
	defer o.b.mu.Unlock()
	if o.windowGone {
		return
	}
	o.windowGone = true
	for _, s := range o.ring {
		if s.wb != nil && s.wb.Context() != nil {
			o.b.ids.retire(s.wb)
			o.b.ctx.SendRequest(s.wb, 0)
			s.wb = nil
		}
	}
	o.toplevel.Destroy()
	o.xsurface.Destroy()
	o.surface.Destroy()
}

// parentGone forgets what the parent held; b.mu held.
func (o *Output) parentGone() {
	for _, s := range o.ring {
		s.held = false
	}
}

// freeRing closes the targets (at Close, after the connection).
func (o *Output) freeRing() {
	o.b.mu.Lock()
	defer o.b.mu.Unlock()
	for _, s := range o.ring {
		s.buf.Close()
		s.shm.Close()
	}
	o.ring = nil
	o.cursor.close()
}

// clip clips damage to bounds; nil damage is all of bounds.
func clip(damage []image.Rectangle, bounds image.Rectangle) []image.Rectangle {
	if damage == nil {
		return []image.Rectangle{bounds}
	}
	out := make([]image.Rectangle, 0, len(damage))
	for _, r := range damage {
		if r = r.Intersect(bounds); !r.Empty() {
			out = append(out, r)
		}
	}
	return out
}

// addDamage adds rects to a stale list, collapsing a long list into its
// bounding box.
func addDamage(stale, rects []image.Rectangle, bounds image.Rectangle) []image.Rectangle {
	stale = append(stale, rects...)
	if len(stale) > 16 {
		u := image.Rectangle{}
		for _, r := range stale {
			u = u.Union(r)
		}
		stale = append(stale[:0], u.Intersect(bounds))
	}
	return stale
}
