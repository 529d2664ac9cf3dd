package x11

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xproto"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/dmabuf"
	"github.com/minicomp/minicomp/scanout"
)

// Output is one window.
type Output struct {
	b      *Backend
	name   string
	win    xproto.Window
	gc     xproto.Gcontext
	format scanout.Format
	cursor xproto.Cursor // the window's cursor (SetCursor; 0: X's default)

	// Frame-loop state: Next, Present, WaitFrame run on one goroutine.
	sc      *scanout.Swapchain
	pending bool
	sync    chan error // the round trip after the pending frame's upload
	clock   backend.RefreshClock
	seq     uint64
	scratch []byte

	mu     sync.Mutex // guards what the event goroutine also touches
	mode   scanout.Mode
	seg    *segment // nil: plain PutImage
	img    []byte   // the window's content: seg.mem or a shadow copy
	imgW   int
	imgH   int
	fresh  bool   // img holds no frame yet: the next upload is full
	valid  bool   // img holds the last frame (Expose repaints from it)
	upload string // how frames reach the server, for Info and verdicts
	noSHM  string // why this output does not use MIT-SHM ("" when it does)
	info   backend.Info
	stats  scanout.Stats

	// Input state, event goroutine only.
	inside, focused bool
	size            atomic.Uint64 // width<<32 | height, read without o.mu
}

// maxDamageRects is how many rectangles are uploaded one by one; more are
// merged into their bounding box.
const maxDamageRects = 32

var errClosed = errors.New("x11: backend closed")

func (b *Backend) newOutput(i int, sz backend.Size, x int, title string) (*Output, error) {
	c := b.conn
	o := &Output{b: b, name: fmt.Sprintf("X11-%d", i+1), format: scanout.XRGB8888}
	o.setMode(sz.Width, sz.Height)
	win, err := xproto.NewWindowId(c)
	if err != nil {
		return nil, fmt.Errorf("x11 output %s: window id: %w", o.name, err)
	}
	gc, err := xproto.NewGcontextId(c)
	if err != nil {
		return nil, fmt.Errorf("x11 output %s: gc id: %w", o.name, err)
	}
	o.win, o.gc = win, gc
	// No background: the server leaves exposed areas alone instead of
	// clearing them, and Expose repaints them from the last frame.
	mask := uint32(xproto.CwBackPixmap | xproto.CwBorderPixel | xproto.CwEventMask)
	vals := []uint32{xproto.BackPixmapNone, 0,
		xproto.EventMaskExposure | xproto.EventMaskStructureNotify |
			xproto.EventMaskKeyPress | xproto.EventMaskKeyRelease |
			xproto.EventMaskButtonPress | xproto.EventMaskButtonRelease |
			xproto.EventMaskPointerMotion | xproto.EventMaskEnterWindow |
			xproto.EventMaskLeaveWindow | xproto.EventMaskFocusChange}
	if b.cmap != 0 {
		mask |= xproto.CwColormap
		vals = append(vals, uint32(b.cmap))
	}
	if err := xproto.CreateWindowChecked(c, b.depth, win, b.screen.Root, int16(x), 0,
		uint16(sz.Width), uint16(sz.Height), 0, xproto.WindowClassInputOutput, b.visual, mask, vals).Check(); err != nil {
		return nil, fmt.Errorf("x11 output %s: create window %dx%d: %w", o.name, sz.Width, sz.Height, err)
	}
	xproto.CreateGC(c, gc, xproto.Drawable(win), xproto.GcGraphicsExposures, []uint32{0})
	name := title + " - " + o.name
	xproto.ChangeProperty(c, xproto.PropModeReplace, win, xproto.AtomWmName, xproto.AtomString, 8, uint32(len(name)), []byte(name))
	xproto.ChangeProperty(c, xproto.PropModeReplace, win, b.atomNetName, b.atomUTF8, 8, uint32(len(name)), []byte(name))
	class := "minicomp\x00minicomp\x00"
	xproto.ChangeProperty(c, xproto.PropModeReplace, win, xproto.AtomWmClass, xproto.AtomString, 8, uint32(len(class)), []byte(class))
	// WM_HINTS: input hint set, so window managers give us the keyboard.
	hints := make([]byte, 9*4)
	hints[0], hints[4] = 1, 1 // flags = InputHint, input = True
	xproto.ChangeProperty(c, xproto.PropModeReplace, win, xproto.AtomWmHints, xproto.AtomWmHints, 32, 9, hints)
	del := []byte{byte(b.atomDelete), byte(b.atomDelete >> 8), byte(b.atomDelete >> 16), byte(b.atomDelete >> 24)}
	xproto.ChangeProperty(c, xproto.PropModeReplace, win, b.atomProtocols, xproto.AtomAtom, 32, 1, del)
	xproto.MapWindow(c, win)

	sc, err := scanout.NewSwapchain(b.alloc, 3, sz.Width, sz.Height, o.format)
	if err != nil {
		xproto.DestroyWindow(c, win)
		return nil, fmt.Errorf("x11 output %s: render targets: %w", o.name, err)
	}
	o.sc = sc
	o.allocImage(sz.Width, sz.Height)
	o.info = backend.Info{Backend: "x11", Output: o.name, Strategy: sc.Strategy,
		Attempts: sc.Attempts, Unavailable: b.alloc.Unavailable}
	return o, nil
}

// setMode sets the window's size. Call with o.mu held (or before the
// output is shared).
func (o *Output) setMode(w, h int) {
	o.mode = o.b.modeFor(w, h)
	o.size.Store(uint64(w)<<32 | uint64(h))
}

func (b *Backend) modeFor(w, h int) scanout.Mode {
	return scanout.Mode{Width: w, Height: h, RefreshMilliHz: int(int64(time.Second) * 1000 / int64(b.period)),
		Name: fmt.Sprintf("%dx%d", w, h), Preferred: true}
}

// allocImage makes the window's image: a shared segment when MIT-SHM
// works, a shadow buffer otherwise. Call with o.mu held (or before the
// output is shared).
func (o *Output) allocImage(w, h int) {
	b := o.b
	o.imgW, o.imgH, o.fresh, o.valid = w, h, true, false
	o.seg, o.img = nil, nil
	why := b.shmWhy
	o.noSHM = ""
	if why == "" {
		s, err := newSegment(b.conn, w*h*4)
		if err == nil {
			o.seg, o.img = s, s.mem
			o.upload = fmt.Sprintf("MIT-SHM PutImage of damage (SysV segment %d)", s.id)
			return
		}
		why = err.Error()
		b.log.Warn("MIT-SHM segment failed, this output uses plain PutImage", "output", o.name, "err", err)
	}
	o.img = make([]byte, w*h*4)
	o.noSHM = why
	o.upload = "plain PutImage of damage (" + why + ")"
}

// Name returns "X11-N".
func (o *Output) Name() string { return o.name }

// Mode returns the window's current size; it changes when the window is
// resized (an OutputResized event says so).
func (o *Output) Mode() scanout.Mode {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.mode
}

// Format returns XRGB8888.
func (o *Output) Format() scanout.Format { return o.format }

// Window returns the X window id, for tests and tools.
func (o *Output) Window() uint32 { return uint32(o.win) }

// Next returns the next render target. After a resize it first replaces
// the targets (and the shared image) with ones of the new size. After
// Close it fails.
func (o *Output) Next() (*scanout.Buffer, int, error) {
	if o.sc == nil || len(o.sc.Buffers) == 0 {
		return nil, 0, fmt.Errorf("x11 %s: next: %w", o.name, errClosed)
	}
	o.mu.Lock()
	w, h := o.mode.Width, o.mode.Height
	o.mu.Unlock()
	if o.sc != nil && len(o.sc.Buffers) > 0 && (o.sc.Buffers[0].Width != w || o.sc.Buffers[0].Height != h) {
		o.resize(w, h)
	}
	return o.sc.Next()
}

func (o *Output) resize(w, h int) {
	b := o.b
	sc, err := scanout.NewSwapchain(b.alloc, len(o.sc.Buffers), w, h, o.format)
	if err != nil {
		b.log.Error("x11: cannot reallocate render targets for the new window size; keeping the old ones",
			"output", o.name, "size", fmt.Sprintf("%dx%d", w, h), "err", err)
		return
	}
	old := o.sc
	o.sc = sc
	o.mu.Lock()
	if err := o.seg.close(b.conn, b.lost.Load() == nil); err != nil {
		b.log.Warn("x11: releasing the old segment", "output", o.name, "err", err)
	}
	o.allocImage(w, h)
	o.info.Strategy, o.info.Attempts = sc.Strategy, sc.Attempts
	o.mu.Unlock()
	if err := old.Close(); err != nil {
		b.log.Warn("x11: releasing old render targets", "output", o.name, "err", err)
	}
	b.log.Debug("x11 output resized", "output", o.name, "size", fmt.Sprintf("%dx%d", w, h))
}

// Present copies the damaged part of target into the window (all of it
// for the first frame at a size, or when damage is nil) and asks the
// server to confirm; WaitFrame waits for that.
func (o *Output) Present(target *scanout.Buffer, damage []image.Rectangle, fence *os.File) (scanout.Verdict, error) {
	b := o.b
	if err := b.lostErr(); err != nil {
		return scanout.Verdict{}, fmt.Errorf("x11 %s: present: %w", o.name, err)
	}
	if b.closing.Load() || target == nil {
		return scanout.Verdict{}, errClosed
	}
	if o.pending {
		return scanout.Verdict{}, scanout.ErrFlipPending
	}
	if fence != nil {
		if err := dmabuf.WaitFence(int(fence.Fd()), dmabuf.RenderFenceTimeout); err != nil {
			return scanout.Verdict{}, fmt.Errorf("x11 %s: present: render fence: %w", o.name, err)
		}
	}
	mem, err := target.Map()
	if err != nil {
		return scanout.Verdict{}, fmt.Errorf("x11 %s: present: %w", o.name, err)
	}
	if err := target.BeginCPUAccess(scanout.Read); err != nil {
		return scanout.Verdict{}, fmt.Errorf("x11 %s: present: begin CPU read: %w", o.name, err)
	}
	o.mu.Lock()
	if o.fresh {
		damage = nil
	}
	rects := o.clip(damage, target.Width, target.Height)
	n := o.copyIn(mem, target, rects)
	for _, r := range rects {
		o.put(r)
	}
	o.fresh, o.valid = false, true
	o.stats.Frames++
	o.stats.BlitFrames++
	o.stats.BytesCopied += uint64(n)
	v := scanout.Verdict{Path: scanout.PathBlit, Reason: "x11: " + o.upload}
	o.mu.Unlock()
	if err := target.EndCPUAccess(scanout.Read); err != nil {
		b.log.Debug("x11: end CPU read", "output", o.name, "err", err)
	}
	ck := xproto.GetInputFocus(b.conn)
	ch := make(chan error, 1)
	go func() {
		_, err := ck.Reply()
		ch <- err
	}()
	o.sync = ch
	o.pending = true
	return v, nil
}

// clip returns the rectangles to upload: damage (nil: everything)
// within both the target and the image, merged into one when there are
// many.
func (o *Output) clip(damage []image.Rectangle, tw, th int) []image.Rectangle {
	bounds := image.Rect(0, 0, min(tw, o.imgW), min(th, o.imgH))
	if damage == nil {
		return []image.Rectangle{bounds}
	}
	var out []image.Rectangle
	var union image.Rectangle
	for _, r := range damage {
		r = r.Intersect(bounds)
		if r.Empty() {
			continue
		}
		out = append(out, r)
		union = union.Union(r)
	}
	if len(out) > maxDamageRects {
		return []image.Rectangle{union}
	}
	return out
}

// copyIn copies rects from the target's mapping into the image and
// returns the bytes copied.
func (o *Output) copyIn(mem []byte, t *scanout.Buffer, rects []image.Rectangle) int {
	ts, is := int(t.Stride), o.imgW*4
	off := int(t.Offset)
	n := 0
	for _, r := range rects {
		x0, x1 := r.Min.X*4, r.Max.X*4
		if x0 == 0 && x1 == is && ts == is {
			copy(o.img[r.Min.Y*is:r.Max.Y*is], mem[off+r.Min.Y*ts:off+r.Max.Y*ts])
		} else {
			for y := r.Min.Y; y < r.Max.Y; y++ {
				copy(o.img[y*is+x0:y*is+x1], mem[off+y*ts+x0:off+y*ts+x1])
			}
		}
		n += (x1 - x0) * r.Dy()
	}
	return n
}

// put uploads rectangle r of the image into the window. Call with o.mu
// held.
func (o *Output) put(r image.Rectangle) {
	c := o.b.conn
	if o.seg != nil {
		shm.PutImage(c, xproto.Drawable(o.win), o.gc, uint16(o.imgW), uint16(o.imgH),
			uint16(r.Min.X), uint16(r.Min.Y), uint16(r.Dx()), uint16(r.Dy()),
			int16(r.Min.X), int16(r.Min.Y), o.b.depth, xproto.ImageFormatZPixmap, 0, o.seg.seg, 0)
		return
	}
	// Plain PutImage carries the pixels in the request, which must stay
	// under the server's maximum request length: send bands of rows.
	is, rowBytes := o.imgW*4, r.Dx()*4
	rows := max(1, (o.b.maxReq-24)/rowBytes)
	for y := r.Min.Y; y < r.Max.Y; y += rows {
		y1 := min(y+rows, r.Max.Y)
		var data []byte
		if r.Dx() == o.imgW {
			data = o.img[y*is : y1*is]
		} else {
			need := rowBytes * (y1 - y)
			if cap(o.scratch) < need {
				o.scratch = make([]byte, need)
			}
			data = o.scratch[:need]
			for yy := y; yy < y1; yy++ {
				copy(data[(yy-y)*rowBytes:], o.img[yy*is+r.Min.X*4:yy*is+r.Max.X*4])
			}
		}
		xproto.PutImage(c, xproto.ImageFormatZPixmap, xproto.Drawable(o.win), o.gc,
			uint16(r.Dx()), uint16(y1-y), int16(r.Min.X), int16(y), 0, o.b.depth, data)
	}
}

// expose repaints r from the last frame (the server lost that part of
// the window: it was covered, or newly mapped).
func (o *Output) expose(r image.Rectangle) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.valid || o.img == nil {
		return
	}
	r = r.Intersect(image.Rect(0, 0, o.imgW, o.imgH))
	if !r.Empty() {
		o.put(r)
	}
}

// WaitFrame waits until the server has processed the presented frame and
// the refresh clock ticks. It fails with an error wrapping backend.ErrLost when
// the server is gone.
func (o *Output) WaitFrame(ctx context.Context) (backend.Presented, error) {
	b := o.b
	if err := b.lostErr(); err != nil {
		return backend.Presented{}, fmt.Errorf("x11 %s: wait frame: %w", o.name, err)
	}
	if !o.pending {
		return backend.Presented{Sequence: o.seq}, nil
	}
	if o.sync != nil {
		select {
		case err := <-o.sync:
			o.sync = nil
			if err != nil {
				if b.closing.Load() && b.lost.Load() == nil {
					return backend.Presented{}, errClosed
				}
				return backend.Presented{}, fmt.Errorf("x11 %s: wait frame: %w", o.name, b.markLost(err))
			}
		case <-ctx.Done():
			return backend.Presented{}, ctx.Err()
		}
	}
	o.clock.Period = b.period
	if err := o.clock.Wait(ctx); err != nil {
		return backend.Presented{}, err
	}
	o.pending = false
	o.seq++
	return backend.Presented{Sequence: o.seq, Time: backend.Monotonic(), Path: scanout.PathBlit}, nil
}

// Info describes the output and its upload path.
func (o *Output) Info() backend.Info {
	o.mu.Lock()
	defer o.mu.Unlock()
	i := o.info
	i.Mode = o.mode
	i.Display = fmt.Sprintf("X server %s, window 0x%x: %s", o.b.display, uint32(o.win), o.upload)
	i.Stats = o.stats
	if o.noSHM != "" {
		i.Unavailable = append(append([]scanout.Attempt(nil), i.Unavailable...),
			scanout.Attempt{Name: "MIT-SHM", Err: errors.New(o.noSHM)})
	}
	return i
}

// destroyX asks the server to drop the output's resources.
func (o *Output) destroyX() {
	c := o.b.conn
	o.mu.Lock()
	if o.seg != nil {
		shm.Detach(c, o.seg.seg)
	}
	o.mu.Unlock()
	xproto.FreeGC(c, o.gc)
	xproto.DestroyWindow(c, o.win)
	if o.cursor != 0 {
		xproto.FreeCursor(c, o.cursor)
	}
}

// release unmaps the segment and frees the render targets.
func (o *Output) release() error {
	o.mu.Lock()
	err := o.seg.close(o.b.conn, false)
	o.seg, o.img, o.valid = nil, nil, false
	o.mu.Unlock()
	o.clock.Stop()
	return errors.Join(err, o.sc.Close())
}

func monotonic() time.Duration { return backend.Monotonic() }
