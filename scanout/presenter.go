package scanout

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/dmabuf"
	"github.com/minicomp/minicomp/internal/drm"
)

// ErrFlipPending means Present was called before the previous flip
// completed; call WaitFlip first.
var ErrFlipPending = errors.New("a page flip is still pending")

// PresenterOptions configures a Presenter.
type PresenterOptions struct {
	Mode          Mode   // zero: the connector's preferred mode
	BlitFormat    Format // format of the fallback dumb buffers; zero: the buffer's
	BlitBuffers   int    // size of the fallback swapchain; zero: 2
	DisableDirect bool   // never try direct scanout (every frame is blitted)
	// OutFences asks KMS for a sync_file per commit (the CRTC's
	// OUT_FENCE_PTR) that signals when the frame is on screen; take it
	// with TakeOutFence.
	OutFences bool
	// DisableCursorPlane never puts the cursor on the CRTC's cursor
	// plane (SetCursor refuses: the caller composes it).
	DisableCursorPlane bool
	// RotateDegrees (0 or 180) and Flip (mirrored left to right) turn
	// the picture with the primary plane's rotation property; a
	// rotation the plane does not offer is an error wrapping
	// ErrRotation from NewPresenter.
	RotateDegrees int
	Flip          bool
	Logger        *slog.Logger
}

// Submission is one frame to show: what Present takes (a frame that
// reached the screen is a Flip).
type Submission struct {
	Buffer *Buffer
	// Damage is what changed since the previous frame, in buffer
	// coordinates; nil means everything.
	Damage []image.Rectangle
	// InFence, when not nil, is a sync_file that signals when rendering
	// into Buffer is done: passed to KMS as IN_FENCE_FD on the direct path
	// (waited for on the CPU first when the plane has no IN_FENCE_FD),
	// waited for before the CPU copy on the blit path. The caller keeps
	// it: Present does not close it and holds no reference once it
	// returns (the kernel takes its own).
	InFence *os.File
}

// Flip is a completed page flip.
type Flip struct {
	Sequence uint32
	Time     time.Duration // CLOCK_MONOTONIC
	Buffer   *Buffer       // the buffer now on screen (its content, on the blit path)
	Path     Path
}

// ProbeTimes is how long each step of the last direct-scanout attempt
// took (zero for steps not reached).
type ProbeTimes struct {
	Import, AddFB, Test time.Duration
}

// Stats counts what a Presenter did.
type Stats struct {
	Frames, DirectFrames, BlitFrames uint64
	BytesCopied                      uint64
	Tests                            uint64 // TEST_ONLY commits made
	CursorCommits                    uint64 // commits of the cursor plane alone (CommitCursor)
}

// Plus returns the sum of s and o, field by field (the counts of two
// Presenters one output had in turn).
func (s Stats) Plus(o Stats) Stats {
	s.Frames += o.Frames
	s.DirectFrames += o.DirectFrames
	s.BlitFrames += o.BlitFrames
	s.BytesCopied += o.BytesCopied
	s.Tests += o.Tests
	s.CursorCommits += o.CursorCommits
	return s
}

// scanState is a buffer's standing with one Presenter (its Addon): its
// framebuffer on the display and the remembered verdict.
type scanState struct {
	presenter *Presenter
	fb        uint32
	verdict   Verdict
}

// DetachBuffer removes the framebuffer and the display import when the
// buffer is released.
func (st *scanState) DetachBuffer(b *Buffer) error {
	p := st.presenter
	p.mu.Lock()
	delete(p.states, b)
	p.mu.Unlock()
	if st.fb == 0 {
		return nil
	}
	return errors.Join(p.dev.rmFB(st.fb), b.ReleaseFrom(p.dev))
}

// kmsProps are the KMS property IDs a Presenter sets.
type kmsProps struct {
	connCRTC                   uint32 // connector CRTC_ID
	modeID, active, outFence   uint32 // CRTC MODE_ID, ACTIVE, OUT_FENCE_PTR (0: none)
	fb, crtc                   uint32 // plane FB_ID, CRTC_ID
	srcX, srcY, srcW, srcH     uint32 // plane SRC_*
	crtcX, crtcY, crtcW, crtcH uint32 // plane CRTC_*
	inFence                    uint32 // plane IN_FENCE_FD (0: none)
	rotation                   uint32 // plane rotation (0: not set)
}

// Presenter shows Buffers on one KMS pipeline with atomic commits, deciding
// per buffer between direct scanout and the blit fallback.
type Presenter struct {
	dev      *Device
	pipe     Pipeline
	mode     Mode
	log      *slog.Logger
	noDirect bool
	nBlit    int
	blitFmt  Format

	prop        kmsProps
	rotation    uint64 // the primary plane's rotation value, with prop.rotation
	modeBlob    uint32
	needModeset bool
	off         bool   // SetActive(false): the CRTC is off
	outFence    *int32 // the kernel writes the fence fd here

	req      drm.AtomicReq
	extra    func(*drm.AtomicReq) uint32 // tests add writeback properties (and flags) here
	seq      uint64
	pending  *shown
	onScreen *shown
	lastFlip Flip

	blit   *blitChain
	cursor *cursorPlane // nil: none (or disabled)
	flips  chan drm.FlipEvent
	probe  ProbeTimes
	shownA shown
	shownB shown

	mu     sync.Mutex             // guards states and stats (Stats may run during WaitFlip)
	states map[*Buffer]*scanState // buffers this Presenter decided on
	stats  Stats
}

// shown is a frame committed to the screen. On the direct path the
// Presenter holds a lock on buffer until a later frame replaced it.
type shown struct {
	seq    uint64
	fb     uint32
	buffer *Buffer
	path   Path
	// cursorOnly: a commit of the cursor plane alone (CommitCursor);
	// the frame on screen stays.
	cursorOnly bool
}

// NewPresenter prepares to show frames on pipe. It enables atomic
// modesetting on dev; the first Present sets the mode. opts.Mode must be
// one of pipe.Modes (matched by size, refresh and, when set, name): a
// mode the connector does not offer is an error here, not a refused
// commit later.
func NewPresenter(dev *Device, pipe Pipeline, opts PresenterOptions) (*Presenter, error) {
	if err := dev.EnableKMS(); err != nil {
		return nil, err
	}
	p := &Presenter{dev: dev, pipe: pipe, log: opts.Logger, nBlit: opts.BlitBuffers,
		blitFmt: opts.BlitFormat, needModeset: true, noDirect: opts.DisableDirect}
	if p.log == nil {
		p.log = slog.Default()
	}
	mode, err := pipe.FindMode(opts.Mode)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dev, err)
	}
	p.mode = mode
	p.states = map[*Buffer]*scanState{}
	if p.nBlit < 2 {
		p.nBlit = 2 // one on screen, one to write
	}
	get := func(obj, typ uint32, names ...string) ([]uint32, error) {
		props, err := dev.dev.Props(obj, typ)
		if err != nil {
			return nil, err
		}
		ids := make([]uint32, len(names))
		for i, n := range names {
			if ids[i], err = props.ID(n); err != nil {
				return nil, fmt.Errorf("%s object %d: %w", dev, obj, err)
			}
		}
		return ids, nil
	}
	ids, err := get(pipe.Connector, drm.ObjectConnector, "CRTC_ID")
	if err != nil {
		return nil, err
	}
	pr := &p.prop
	pr.connCRTC = ids[0]
	if ids, err = get(pipe.CRTC, drm.ObjectCRTC, "MODE_ID", "ACTIVE"); err != nil {
		return nil, err
	}
	pr.modeID, pr.active = ids[0], ids[1]
	if ids, err = get(pipe.Primary.ID, drm.ObjectPlane, "FB_ID", "CRTC_ID", "SRC_X", "SRC_Y", "SRC_W", "SRC_H",
		"CRTC_X", "CRTC_Y", "CRTC_W", "CRTC_H"); err != nil {
		return nil, err
	}
	pr.fb, pr.crtc, pr.srcX, pr.srcY, pr.srcW, pr.srcH = ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]
	pr.crtcX, pr.crtcY, pr.crtcW, pr.crtcH = ids[6], ids[7], ids[8], ids[9]
	if props, err := dev.dev.Props(pipe.Primary.ID, drm.ObjectPlane); err == nil {
		pr.inFence = props.IDs["IN_FENCE_FD"]
	}
	if opts.OutFences {
		props, err := dev.dev.Props(pipe.CRTC, drm.ObjectCRTC)
		if err != nil {
			return nil, err
		}
		if pr.outFence = props.IDs["OUT_FENCE_PTR"]; pr.outFence == 0 {
			return nil, fmt.Errorf("%s: CRTC %d has no OUT_FENCE_PTR", dev, pipe.CRTC)
		}
		p.outFence = new(int32)
		*p.outFence = -1
	}
	if pr.rotation, p.rotation, err = p.planeRotation(opts.RotateDegrees, opts.Flip); err != nil {
		return nil, err
	}
	if !opts.DisableCursorPlane {
		if p.cursor, err = cursorPlaneFor(dev, pipe); err != nil {
			p.log.Warn("no cursor plane: the cursor is composed", "output", pipe.ConnectorName, "err", err)
			p.cursor = nil
		}
	}
	if p.flips, err = dev.subscribe(pipe.CRTC); err != nil {
		return nil, err
	}
	mi := p.mode.info
	if p.modeBlob, err = dev.dev.CreateBlob(drm.ModeBytes(&mi)); err != nil {
		dev.unsubscribe(pipe.CRTC)
		return nil, err
	}
	return p, nil
}

// Mode returns the mode the Presenter sets.
func (p *Presenter) Mode() Mode { return p.mode }

// Pipeline returns the pipeline the Presenter drives.
func (p *Presenter) Pipeline() Pipeline { return p.pipe }

// Stats returns counters of what the Presenter did. It may be called at
// any time, from any goroutine.
func (p *Presenter) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// TakeOutFence returns the sync_file of the last commit (OutFences
// option), which signals when that frame is on screen, or nil. The caller
// owns it.
func (p *Presenter) TakeOutFence() *os.File {
	if p.outFence == nil || *p.outFence < 0 {
		return nil
	}
	f := os.NewFile(uintptr(*p.outFence), "out-fence")
	*p.outFence = -1
	return f
}

// LastProbe returns the step timings of the last direct-scanout attempt.
func (p *Presenter) LastProbe() ProbeTimes { return p.probe }

// Forget drops the Presenter's verdict, framebuffer and display import for
// buf, so the next Present decides again (after a mode change, say). buf
// must not be on screen.
func (p *Presenter) Forget(buf *Buffer) error {
	st, _ := buf.RemoveAddon(p).(*scanState)
	if st == nil {
		return nil
	}
	if st.fb != 0 && p.showing(st.fb) {
		buf.SetAddon(p, st)
		return fmt.Errorf("forget %v: %w", buf, ErrOnScreen)
	}
	return st.DetachBuffer(buf)
}

// ErrOnScreen means the buffer is on screen (or about to be), so its
// framebuffer cannot go yet.
var ErrOnScreen = errors.New("buffer is on screen")

// stateFor returns buf's state with this Presenter, or nil.
func (p *Presenter) stateFor(buf *Buffer) *scanState {
	st, _ := buf.Addon(p).(*scanState)
	return st
}

// Pending reports whether a flip is in flight.
func (p *Presenter) Pending() bool { return p.pending != nil }

// Decide returns the verdict for buf, trying direct scanout on first sight
// (import, ADDFB2, TEST_ONLY) and remembering the answer: a refused buffer
// is never retried. Present calls it; it is exported for `minicomp info`.
func (p *Presenter) Decide(buf *Buffer) Verdict { return p.decide(buf).verdict }

// decide returns buf's state with this Presenter, trying direct scanout
// on first sight. A state that was not remembered (a passing failure)
// comes back without a framebuffer.
func (p *Presenter) decide(buf *Buffer) *scanState {
	if st := p.stateFor(buf); st != nil {
		return st
	}
	st := &scanState{presenter: p}
	st.verdict = p.tryDirect(buf, st)
	if st.verdict.Step == StepTest && !refusalErrno(st.verdict.Errno) {
		// The test failed for a reason that is not this buffer (not DRM
		// master on another VT, EBUSY): nothing to remember, ask again.
		p.log.Debug("scanout test failed for a passing reason; not remembered", "output", p.pipe.ConnectorName,
			"buffer", buf.String(), "errno", errnoName(st.verdict.Errno))
		return st
	}
	if err := buf.SetAddon(p, st); err != nil {
		st.DetachBuffer(buf)
		return &scanState{presenter: p, verdict: Verdict{Path: PathBlit, Step: StepImport, Reason: err.Error()}}
	}
	p.mu.Lock()
	p.states[buf] = st
	p.mu.Unlock()
	p.note(buf, st.verdict, "decided")
	return st
}

func (p *Presenter) tryDirect(buf *Buffer, st *scanState) Verdict {
	if p.noDirect {
		return Verdict{Path: PathBlit, Step: StepDisabled, Reason: "direct scanout disabled (PresenterOptions.DisableDirect)"}
	}
	// The implicit modifier (a client buffer allocated by this display's
	// own driver, which knows its layout): the format must be on the
	// plane, the framebuffer is made without a modifier, and TEST_ONLY
	// decides.
	_, implicitOK := p.pipe.Primary.Formats[buf.Format]
	if buf.Modifier == ModInvalid && !implicitOK || buf.Modifier != ModInvalid && !p.pipe.Primary.Supports(buf.Format, buf.Modifier) {
		return Verdict{Path: PathBlit, Step: StepFormat,
			Reason: fmt.Sprintf("primary plane %d does not scan out %v/%s", p.pipe.Primary.ID, buf.Format, ModifierName(buf.Modifier))}
	}
	p.probe = ProbeTimes{}
	t0 := time.Now()
	handle, err := buf.ImportInto(p.dev)
	p.probe.Import = time.Since(t0)
	if err != nil {
		return refused(StepImport, err, importHint(err, p.dev.Driver()))
	}
	t0 = time.Now()
	fb, err := p.dev.addFB(drm.FB2{
		Width: uint32(buf.Width), Height: uint32(buf.Height), Format: uint32(buf.Format),
		Handles: [4]uint32{handle}, Pitches: [4]uint32{buf.Stride}, Offsets: [4]uint32{buf.Offset},
		Modifier: buf.Modifier, UseModifier: buf.Modifier != ModLinear && buf.Modifier != ModInvalid,
	})
	p.probe.AddFB = time.Since(t0)
	if err != nil {
		buf.ReleaseFrom(p.dev)
		return refused(StepAddFB, err, "the display refused a framebuffer for this layout")
	}
	p.mu.Lock()
	p.stats.Tests++
	p.mu.Unlock()
	t0 = time.Now()
	err = p.commit(fb, buf.Width, buf.Height, nil, true)
	p.probe.Test = time.Since(t0)
	if err != nil {
		p.dev.rmFB(fb)
		buf.ReleaseFrom(p.dev)
		if !refusal(err) {
			return refused(StepTest, err, "the atomic test commit failed for a reason that is not the buffer (not DRM master? busy?); testing again next frame")
		}
		return refused(StepTest, err, "the atomic test commit refused the buffer on the primary plane")
	}
	st.fb = fb
	return Verdict{Path: PathDirect}
}

// commit builds and issues the atomic request putting fb on the primary
// plane. test makes it a TEST_ONLY commit.
func (p *Presenter) commit(fb uint32, w, h int, fence *os.File, test bool) error {
	r := &p.req
	r.Reset()
	flags := uint32(drm.AtomicNonblock | drm.PageFlipEvent)
	if p.needModeset {
		r.Add(p.pipe.Connector, p.prop.connCRTC, uint64(p.pipe.CRTC))
		r.Add(p.pipe.CRTC, p.prop.modeID, uint64(p.modeBlob))
		r.Add(p.pipe.CRTC, p.prop.active, 1)
		flags |= drm.AtomicAllowModeset
	}
	pl, pr := p.pipe.Primary.ID, &p.prop
	r.Add(pl, pr.fb, uint64(fb))
	r.Add(pl, pr.crtc, uint64(p.pipe.CRTC))
	r.Add(pl, pr.srcX, 0)
	r.Add(pl, pr.srcY, 0)
	r.Add(pl, pr.srcW, uint64(w)<<16)
	r.Add(pl, pr.srcH, uint64(h)<<16)
	r.Add(pl, pr.crtcX, 0)
	r.Add(pl, pr.crtcY, 0)
	r.Add(pl, pr.crtcW, uint64(w))
	r.Add(pl, pr.crtcH, uint64(h))
	if pr.rotation != 0 {
		r.Add(pl, pr.rotation, p.rotation)
	}
	if fence != nil && pr.inFence != 0 && !test {
		r.Add(pl, pr.inFence, uint64(fence.Fd()))
	}
	if p.outFence != nil && !test {
		if *p.outFence >= 0 { // not taken: close it, the newer one supersedes it
			unix.Close(int(*p.outFence))
		}
		*p.outFence = -1
		r.Add(p.pipe.CRTC, pr.outFence, uint64(uintptr(unsafe.Pointer(p.outFence))))
	}
	withCursor := !test && p.cursorInCommit()
	if withCursor {
		p.cursor.add(r)
	}
	if p.needModeset {
		keep := uint32(0)
		if withCursor {
			keep = p.cursor.plane.ID
		}
		p.offForeign(r, keep, !test)
	}
	if p.extra != nil && !test {
		flags |= p.extra(r)
	}
	if test {
		flags = drm.AtomicTestOnly | flags&drm.AtomicAllowModeset
		return p.dev.dev.Atomic(r, flags, 0)
	}
	p.seq++
	err := p.dev.dev.Atomic(r, flags, p.seq)
	if err == nil && withCursor {
		p.cursor.committed()
	}
	return err
}

// Present shows a frame: directly when the buffer's verdict allows, else
// by copying the damaged region into the fallback swapchain. It commits
// without blocking; call WaitFlip before the next Present. The returned
// Verdict says which path this frame took.
func (p *Presenter) Present(f Submission) (Verdict, error) {
	if p.pending != nil {
		return Verdict{}, ErrFlipPending
	}
	buf := f.Buffer
	st := p.decide(buf)
	v := st.verdict
	if v.Path == PathDirect {
		// Locked before the commit: the display reads it from then on,
		// whoever closes it meanwhile.
		buf.Lock()
		if f.InFence != nil && p.prop.inFence == 0 {
			// No IN_FENCE_FD on this plane: the kernel cannot wait, so
			// the CPU does, rather than scanning out a half-drawn frame.
			if err := dmabuf.WaitFence(int(f.InFence.Fd()), dmabuf.RenderFenceTimeout); err != nil {
				buf.Unlock()
				return v, fmt.Errorf("wait for render fence (plane %d has no IN_FENCE_FD): %w", p.pipe.Primary.ID, err)
			}
		}
		err := p.commit(st.fb, buf.Width, buf.Height, f.InFence, false)
		runtime.KeepAlive(f.InFence)
		if err == nil {
			p.blit.markStale(f.Damage, image.Rect(0, 0, p.mode.Width, p.mode.Height))
			p.flipped(st.fb, buf, PathDirect, 0)
			return v, nil
		}
		buf.Unlock()
		if !refusal(err) {
			// Not about this buffer (EACCES on another VT, EBUSY, ENOMEM):
			// report it and keep the verdict.
			return v, fmt.Errorf("commit: %w", err)
		}
		// Refused after the test passed: remember it, and blit this frame.
		v = refused(StepCommit, err, "the commit failed after TEST_ONLY passed")
		st.verdict = v
		p.note(buf, v, "changed")
		if fb := st.fb; !p.showing(fb) {
			st.fb = 0
			p.dev.rmFB(fb)
			buf.ReleaseFrom(p.dev)
		}
	}
	n, fb, err := p.blitFrame(f)
	if err != nil {
		return v, err
	}
	if err := p.commit(fb, p.blit.w, p.blit.h, nil, false); err != nil {
		return v, fmt.Errorf("commit blit framebuffer: %w", err)
	}
	p.flipped(fb, buf, PathBlit, n)
	return v, nil
}

// refusal reports whether a failed commit says the buffer itself cannot
// be shown (as opposed to a passing condition).
func refusal(err error) bool { return refusalErrno(drm.Errno(err)) }

// refusalErrno is refusal for an errno.
func refusalErrno(errno unix.Errno) bool {
	switch errno {
	case unix.EINVAL, unix.ERANGE, unix.ENOSPC, unix.EOPNOTSUPP:
		return true
	}
	return false
}

// showing reports whether framebuffer fb is on screen or about to be.
func (p *Presenter) showing(fb uint32) bool {
	return (p.onScreen != nil && p.onScreen.fb == fb) || (p.pending != nil && p.pending.fb == fb)
}

func (p *Presenter) flipped(fb uint32, buf *Buffer, path Path, copied int) {
	p.needModeset = false
	s := &p.shownA
	if p.onScreen == s {
		s = &p.shownB
	}
	*s = shown{seq: p.seq, fb: fb, buffer: buf, path: path} // direct: locked by Present until replaced
	p.pending = s
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Frames++
	if path == PathDirect {
		p.stats.DirectFrames++
	} else {
		p.stats.BlitFrames++
		p.stats.BytesCopied += uint64(copied)
	}
}

// note logs a buffer's verdict: once when it is decided, and again only
// if it changes (a commit refused after the test passed).
func (p *Presenter) note(buf *Buffer, v Verdict, what string) {
	attrs := []any{"output", p.pipe.ConnectorName, "display", p.dev.String(), "buffer", buf.String(), "path", v.Path.String()}
	if v.Path != PathDirect {
		attrs = append(attrs, "step", string(v.Step))
		if v.Errno != 0 {
			attrs = append(attrs, "errno", errnoName(v.Errno))
		}
		attrs = append(attrs, "reason", v.Reason)
	}
	p.log.Info("scanout verdict "+what, attrs...)
}

func (p *Presenter) handleEvent(e drm.FlipEvent) error {
	if p.pending == nil || e.UserData != p.pending.seq {
		return nil
	}
	p.cursor.flipped()
	if p.pending.cursorOnly {
		p.pending = nil
		p.lastFlip = Flip{Sequence: e.Sequence, Time: e.Time, Buffer: p.onScreen.buffer, Path: p.onScreen.path}
		return nil
	}
	old := p.onScreen
	p.onScreen, p.pending = p.pending, nil
	p.lastFlip = Flip{Sequence: e.Sequence, Time: e.Time, Buffer: p.onScreen.buffer, Path: p.onScreen.path}
	return old.unlock()
}

// unlock drops the Presenter's lock on a frame's buffer (direct path).
func (s *shown) unlock() error {
	if s == nil || s.path != PathDirect || s.buffer == nil || s.cursorOnly {
		return nil
	}
	return s.buffer.Unlock()
}

// WaitFlip waits for the pending flip to complete and returns it. It
// returns at once when nothing is pending (with the last flip).
func (p *Presenter) WaitFlip(ctx context.Context) (Flip, error) {
	for p.pending != nil {
		select {
		case e, ok := <-p.flips:
			if !ok {
				return Flip{}, fmt.Errorf("%s: %w", p.dev, p.dev.readerErr())
			}
			if err := p.handleEvent(e); err != nil {
				p.log.Warn("releasing the buffer that left the screen", "output", p.pipe.ConnectorName, "err", err)
			}
		case <-ctx.Done():
			return Flip{}, ctx.Err()
		}
	}
	return p.lastFlip, nil
}

// OnScreen returns the framebuffer id and buffer currently scanned out.
func (p *Presenter) OnScreen() (fb uint32, buf *Buffer) {
	if p.onScreen == nil {
		return 0, nil
	}
	return p.onScreen.fb, p.onScreen.buffer
}

// unbindOthers adds, to a request that turns the CRTC off, every other
// connector this file can see that is still bound to the CRTC (a clone, a
// writeback connector): the kernel refuses an inactive CRTC with connectors.
func (p *Presenter) unbindOthers(r *drm.AtomicReq) {
	res, err := p.dev.dev.Resources()
	if err != nil {
		return
	}
	for _, c := range res.Connectors {
		if c == p.pipe.Connector {
			continue
		}
		props, err := p.dev.dev.Props(c, drm.ObjectConnector)
		if err != nil {
			continue
		}
		if id, ok := props.IDs["CRTC_ID"]; ok && props.Values["CRTC_ID"] == uint64(p.pipe.CRTC) {
			r.Add(c, id, 0)
		}
	}
}

// Close waits for a pending flip, turns the pipeline off, and releases
// every framebuffer, import and dumb buffer the Presenter made. Buffers
// stay usable (their verdicts are forgotten).
func (p *Presenter) Close() error {
	if p == nil {
		return nil
	}
	var errs []error
	if p.pending != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if _, err := p.WaitFlip(ctx); err != nil {
			errs = append(errs, fmt.Errorf("wait for last flip: %w", err))
		}
		cancel()
	}
	if !p.needModeset {
		r := &p.req
		r.Reset()
		r.Add(p.pipe.Connector, p.prop.connCRTC, 0)
		p.unbindOthers(r)
		r.Add(p.pipe.CRTC, p.prop.modeID, 0)
		r.Add(p.pipe.CRTC, p.prop.active, 0)
		r.Add(p.pipe.Primary.ID, p.prop.fb, 0)
		r.Add(p.pipe.Primary.ID, p.prop.crtc, 0)
		p.cursor.off(r)
		if err := p.dev.dev.Atomic(r, drm.AtomicAllowModeset, 0); err != nil {
			errs = append(errs, fmt.Errorf("turn pipeline off: %w", err))
		}
	}
	// The screen is dark: the buffers it showed are free again. Then every
	// framebuffer and display import this Presenter made goes.
	errs = append(errs, p.pending.unlock(), p.onScreen.unlock())
	p.onScreen, p.pending = nil, nil
	p.mu.Lock()
	states := p.states
	p.states = map[*Buffer]*scanState{}
	p.mu.Unlock()
	for b := range states {
		if st, _ := b.RemoveAddon(p).(*scanState); st != nil && st.fb != 0 {
			errs = append(errs, p.dev.rmFB(st.fb), b.ReleaseFrom(p.dev))
		}
	}
	p.dev.unsubscribe(p.pipe.CRTC)
	errs = append(errs, p.blit.close(), p.cursor.close())
	p.blit = nil
	if p.modeBlob != 0 {
		errs = append(errs, p.dev.dev.DestroyBlob(p.modeBlob))
		p.modeBlob = 0
	}
	if p.outFence != nil && *p.outFence >= 0 {
		unix.Close(int(*p.outFence))
		*p.outFence = -1
	}
	p.needModeset = true // closed again: nothing to turn off
	return errors.Join(errs...)
}
