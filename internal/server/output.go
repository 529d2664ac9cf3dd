package server

import (
	"context"
	"image"
	"image/color"
	"os"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/scanout"
)

// output is a backend output served as a wl_output global, with its frame
// loop: render when something changed, present, and send frame callbacks
// when the frame is on screen.
type output struct {
	s      *Server
	o      backend.Output
	bounds image.Rectangle
	// damage since the last render, and of the last renders (newest first)
	// for targets of a given buffer age
	damage     []image.Rectangle
	history    [4][]image.Rectangle
	forceFrame bool      // a screencopy waits: render even without damage
	repaintAt  time.Time // after a flip, wait for clients' commits until then
	// callbacks of the frame on screen, held until callbackAt (monotonic)
	// so that their clients commit just before the repaint (repaint.go)
	held       []frameCB
	callbackAt time.Duration
	renderTime estimate      // how long a composed frame takes to render and present
	waitReq    chan struct{} // one per presented frame, to waitFrames
	busy       bool
	closed     bool // the user closed the output's window
	removed    bool // the backend output went away (hotplug.go)
	global     *global
	// description is fixed at start, from the output's name and mode.
	description string
	done        []frameCB // callbacks of the frame being shown
	// feedback of the frame being shown, and of the one on screen
	pendingFeedback, shownFeedback []feedbackCB
	captures, inFlightCaptures     []*screencopyFrame // waiting for a frame; in the frame being shown
	frameDamage, drawDamage        []image.Rectangle
	targetDamage                   []image.Rectangle // scratch of toTarget (turned.go)
	captureRow                     []byte            // scratch of capturedRow (turned.go)
	// scratch of compose: the scene, the pieces each surface is drawn in,
	// the opaque part of the output above the surface being looked at
	scene                        []sceneItem
	pieces, covered              []image.Rectangle
	presentedTarget, shownTarget *scanout.Buffer
	// Client buffers shown directly: the output's ClientScanout (nil
	// when it has none), the buffer presented and the one on screen, and
	// the damage of direct frames the render targets have not seen.
	scanout backend.ClientScanout
	// surfaces whose frame callbacks fired at the last frame, and the
	// commit count then (see clientsReady)
	awaiting                     []*surface
	awaitMark                    uint64
	presentedDirect, shownDirect *dmabufBuffer
	directDamage                 []image.Rectangle

	// implicitDirect caches whether implicit-modifier client buffers may
	// go on this display (gpu_import.go): 0 not known yet, 1 no, 2 yes.
	implicitDirect int8

	// commit times of the content drawn into the frame being built and
	// into the one presented (for the latency stats)
	drawnCommits, presentedCommits []time.Duration
	// wlr-output-power-management: the mode and who watches it
	powerOff bool
	powerRes []*outputPower
	// screencopy clients' damage since their last copy_with_damage
	damageWatch []damageWatch
	xdgOutputs  []xdgOutputRef // clients' zxdg_output_v1 objects of it
}

// outputResource is one client's wl_output object for an output.
type outputResource struct {
	o  *output
	c  *Client
	id uint32
}

func (r *outputResource) Release() error { return nil }

func (r *outputResource) forget() { r.c.outputIDs[r.o] = without(r.c.outputIDs[r.o], r.id) }

type frameCB struct {
	c  *Client
	sf *surface
	id uint32
}

func (o *output) bind(c *Client, id, version uint32) error {
	res := &outputResource{o: o, c: c, id: id}
	ob, err := register[protocol.WlOutputHandler](c, id, protocol.WlOutputInterface, version, res, protocol.DispatchWlOutput)
	if err != nil {
		return err
	}
	c.outputIDs[o] = append(c.outputIDs[o], id)
	ob.onDestroy = res.forget
	m := o.o.Mode()
	o.sendGeometry(c, id)
	c.send(protocol.WlOutputMode(c.conn, id, protocol.WlOutputModeCurrent|protocol.WlOutputModePreferred, int32(m.Width), int32(m.Height), int32(m.RefreshMilliHz)))
	if version >= 2 {
		c.send(protocol.WlOutputScale(c.conn, id, 1))
	}
	if version >= 4 {
		c.send(protocol.WlOutputName(c.conn, id, o.o.Name()))
		c.send(protocol.WlOutputDescription(c.conn, id, o.description))
	}
	if version >= 2 {
		c.send(protocol.WlOutputDone(c.conn, id))
	}
	o.enterBound(c, id)
	return nil
}

// scheduleFrames starts a frame on every idle output that has work
// (after telling surfaces which outputs they are on now).
func (s *Server) scheduleFrames() {
	s.updateEnters()
	for _, o := range s.outputs {
		o.sendHeldCallbacks()
		if o.busy || o.closed || o.powerOff || !(len(o.damage) > 0 || o.forceFrame || o.hasCallbacks() || s.seat.cursor.needsCommit(o)) {
			continue
		}
		if time.Until(o.repaintAt) > 0 && !o.clientsReady() {
			s.loop.armTimer(o.repaintAt)
			continue
		}
		s.render(o)
	}
}

// clientsReady reports whether every surface whose frame callback fired
// at the last frame has committed since: then the repaint need not wait
// for the end of the repaint window (fewer wake-ups, same latency).
func (o *output) clientsReady() bool {
	if len(o.awaiting) == 0 {
		return false
	}
	for _, sf := range o.awaiting {
		if !sf.gone && sf.committed <= o.awaitMark {
			return false
		}
	}
	return true
}

func (o *output) hasCallbacks() bool {
	if len(o.done) > 0 || o.s.seat.cursor.hasCallbacks(o) {
		return true // taken by a frame that failed: owed by the next
	}
	for _, sf := range o.s.surfaces {
		if sf.treeHasCallbacks() && o.s.mainOutput(sf) == o {
			return true
		}
	}
	return false
}

// treeHasCallbacks reports whether the surface or a shown subsurface
// waits for a frame callback.
func (sf *surface) treeHasCallbacks() bool {
	if sf.content == nil {
		return false
	}
	for _, x := range sf.stack {
		if x == sf && len(sf.frames) > 0 || x != sf && x.treeHasCallbacks() {
			return true
		}
	}
	return false
}

// resized takes the output's new mode (a window was resized): clients'
// wl_output objects hear the new mode, toplevels are configured to fill
// it, and the next frame is drawn whole.
func (o *output) resized() {
	m := o.o.Mode()
	o.bounds = logicalBounds(o.o)
	o.history = [4][]image.Rectangle{}
	o.damage = o.damage[:0] // all of it again below (damageAll)
	for i := range o.damageWatch {
		o.damageWatch[i].r = o.panelBounds() // watches are in the panel's pixels (screencopy.go)
	}
	for c := range o.s.clients {
		for _, id := range c.outputIDs[o] {
			c.send(protocol.WlOutputMode(c.conn, id, protocol.WlOutputModeCurrent|protocol.WlOutputModePreferred, int32(m.Width), int32(m.Height), int32(m.RefreshMilliHz)))
			if c.objects[id].version >= 2 {
				c.send(protocol.WlOutputDone(c.conn, id))
			}
		}
	}
	o.s.damageAll() // this output whole, and the outputs after it moved
	o.s.replaceToplevels()
	o.s.arrangeLayers()
	o.s.geometriesChanged()
	o.s.xdgOutputsChanged()
	o.s.scheduleFrames()
}

// addDamage records damage (in the output's pixels, clipped to them)
// for the next render.
func (o *output) addDamage(r image.Rectangle) {
	if r = r.Intersect(o.bounds); !r.Empty() {
		o.damage = appendMerged(o.damage, r)
	}
}

// takeDamage returns the damage since the last render and clears it.
func (o *output) takeDamage() []image.Rectangle {
	d := append(o.frameDamage[:0], o.damage...)
	o.frameDamage = d
	o.damage = o.damage[:0]
	return d
}

// pushHistory remembers a frame's damage for targets of later ages.
func (o *output) pushHistory(d []image.Rectangle) {
	last := o.history[len(o.history)-1]
	copy(o.history[1:], o.history[:len(o.history)-1])
	o.history[0] = append(last[:0], d...)
}

var background = color.NRGBA{R: 0x20, G: 0x24, B: 0x30, A: 0xff}

// render composes the output's rectangle of the layout into its next
// target (later surfaces on top) and presents it; frame callbacks of the
// surfaces on it fire when it is shown.
func (s *Server) render(o *output) {
	if s.paused {
		return // the session is away: SessionActive redraws everything
	}
	if s.commitCursorAlone(o) {
		return
	}
	if sf, b := o.directCandidate(); b != nil && s.presentDirect(o, sf, b) {
		return
	}
	start := monotonic()
	s.updateTextures()
	target, age, err := o.o.Next()
	if pausedFailure(err) {
		return
	}
	if err != nil {
		// Every target is on screen or held (a parent compositor that has
		// not released one): nothing was drawn, the damage stays; try
		// again at the next refresh.
		s.log.Debug("no free render target", "output", o.o.Name(), "err", err)
		o.retryLater()
		return
	}
	frameDamage := o.takeDamage()
	// Damage shown by direct frames since the last composed one: the
	// targets never saw it.
	frameDamage = appendAll(frameDamage, o.directDamage)
	o.directDamage = o.directDamage[:0]
	o.frameDamage = frameDamage
	draw := o.drawDamage[:0]
	if age == 0 || age > len(o.history) {
		draw = append(draw, o.bounds)
	} else {
		draw = appendAll(draw, frameDamage)
		for _, h := range o.history[:age-1] {
			draw = appendAll(draw, h)
		}
	}
	bare := o.bareCursor() // a capture wants the frame without the composed cursor
	if !bare.Empty() {
		draw = append(draw, bare)
	}
	o.drawDamage = draw
	o.pushHistory(frameDamage)
	r := s.renderer
	if err := o.begin(r, target, draw); err != nil {
		s.log.Error("render", "output", o.o.Name(), "err", err)
		o.frameFailed(frameDamage)
		return
	}
	o.compose(draw)
	if !bare.Empty() {
		err = s.drawBare(o, target, bare)
	}
	var fence *os.File
	if err == nil {
		s.seat.cursor.draw(o, r)
		s.seat.cursor.takeFrameWork(o)
		fence, err = r.End()
	}
	if err != nil {
		s.log.Error("render", "output", o.o.Name(), "renderer", r.Name(), "err", err)
		s.rendererFailed(err)
		o.frameFailed(frameDamage)
		return
	}
	_, err = o.o.Present(target, o.toTarget(frameDamage), fence)
	if fence != nil {
		fence.Close() // the kernel (IN_FENCE_FD) or the blit took what it needed
	}
	if err != nil {
		if !pausedFailure(err) {
			s.log.Error("present", "output", o.o.Name(), "err", err)
		}
		o.frameFailed(frameDamage)
		return
	}
	o.presentedDirect = nil
	o.renderTime.add(monotonic() - start)
	s.seat.cursor.committedWith(o)
	o.framePresented(target, frameDamage)
}

// framePresented starts waiting for the frame showing buf (damage: what
// changed in it): the output is busy until it is on screen, and captures
// waiting for a frame get it (copy_with_damage ones once their client has
// damage to see).
func (o *output) framePresented(buf *scanout.Buffer, damage []image.Rectangle) {
	o.forceFrame = false
	o.busy = true
	o.presentedCommits, o.drawnCommits = o.drawnCommits, o.presentedCommits[:0]
	o.presentedTarget = buf
	o.noteDamage(damage)
	o.takeCaptures()
	o.waitReq <- struct{}{}
}

// frameFailed keeps what a frame that could not be drawn or presented
// owed: its damage goes back, its frame callbacks and feedback wait for
// the next frame, which is retried a refresh later (not at once: the
// failure may last).
func (o *output) frameFailed(frameDamage []image.Rectangle) {
	for _, d := range frameDamage {
		o.addDamage(d)
	}
	o.history = [4][]image.Rectangle{} // the target may be half drawn: draw it all
	o.addDamage(o.bounds)
	o.retryLater()
}

// retryLater asks for a repaint a refresh from now.
func (o *output) retryLater() {
	o.repaintAt = time.Now().Add(16 * time.Millisecond)
	o.s.loop.armTimer(o.repaintAt)
}

// compose draws the frame (draw: its damage): the scene is flattened
// and moved into the output's pixels (layout.go), each surface's visible
// pieces are found top to bottom (the damage in its rectangle minus the
// opaque content above it), then the background and the surfaces are
// drawn bottom to top in those pieces only, and the frame callbacks and
// presentation feedback of the surfaces this output is the main one of
// are taken for this frame.
func (o *output) compose(draw []image.Rectangle) {
	r := o.s.renderer
	scene := o.scene[:0]
	at := o.origin()
	for _, sf := range o.s.surfaces {
		n := len(scene)
		scene = appendScene(scene, sf, sf.role.pos.Sub(at))
		if o.s.mainOutput(sf) == o {
			for i := n; i < len(scene); i++ {
				scene[i].main = true
			}
		}
	}
	pieces, covered := o.pieces[:0], o.covered[:0]
	for i := len(scene) - 1; i >= 0; i-- {
		it := &scene[i]
		it.first = len(pieces)
		if it.sf.tex != nil {
			pieces = visiblePieces(pieces, draw, it.dst.Intersect(o.bounds), covered)
		}
		it.end = len(pieces)
		covered = it.sf.appendOpaque(covered, it.dst, o.bounds)
	}
	bg := len(pieces)
	pieces = visiblePieces(pieces, draw, o.bounds, covered)
	for _, p := range pieces[bg:] {
		r.FillRect(p, background)
	}
	for i := range scene {
		it := &scene[i]
		sf := it.sf
		if it.end > it.first {
			src := sf.source()
			if src.Size() == it.dst.Size() {
				// Unscaled: each visible piece is its own copy.
				for _, p := range pieces[it.first:it.end] {
					r.Draw(sf.tex, p.Sub(it.dst.Min).Add(src.Min), p, 1)
				}
			} else {
				// Scaled: drawn whole (clipped to the damage); what the
				// opaque content above hides is drawn over again.
				r.Draw(sf.tex, src, it.dst, 1)
			}
		}
		if it.main {
			o.takeFrameWork(sf)
		}
	}
	clear(scene) // no surface kept alive by the scratch
	o.scene, o.pieces, o.covered = scene[:0], pieces[:0], covered[:0]
}

// takeFrameWork moves what a shown surface waits for into this frame:
// its frame callbacks, presentation feedback and commit time (latency).
func (o *output) takeFrameWork(sf *surface) {
	if sf.committedAt != 0 {
		o.drawnCommits = append(o.drawnCommits, sf.committedAt)
		sf.committedAt = 0
	}
	for _, cb := range sf.frames {
		o.done = append(o.done, frameCB{sf.c, sf, cb})
	}
	sf.frames = sf.frames[:0]
	for _, id := range sf.feedback {
		o.pendingFeedback = append(o.pendingFeedback, feedbackCB{sf.c, id})
	}
	sf.feedback = sf.feedback[:0]
}

// waitFrames waits for each presented frame on its own goroutine (the
// backend blocks) and hands it to Run.
func (o *output) waitFrames() {
	for range o.waitReq {
		f, err := o.o.WaitFrame(context.Background())
		o.s.loop.postFrame(frameDone{o: o, f: f, err: err})
	}
}

// reset empties s for reuse, clearing what it held: a slice reused from
// frame to frame must not keep a gone client's surfaces and buffers alive
// in its spare capacity.
func reset[T any](s []T) []T {
	clear(s)
	return s[:0]
}

// appendAll adds each rectangle of add to dst with appendMerged.
func appendAll(dst, add []image.Rectangle) []image.Rectangle {
	for _, r := range add {
		dst = appendMerged(dst, r)
	}
	return dst
}

// frameDone sends the shown frame's callbacks and starts the next frame
// if there is work.
func (o *output) frameDone(f backend.Presented) {
	o.busy = false
	o.s.frameCount.Add(1)
	// The frame's callbacks are held until their clients have just
	// enough time to draw before the next repaint (repaint.go); those of
	// an earlier frame still held are late already.
	if len(o.held) > 0 {
		o.callbackAt = 0
		o.sendHeldCallbacks()
	}
	o.awaiting = reset(o.awaiting) // until the callbacks go out: wait for the repaint time
	o.held = append(o.held, o.done...)
	o.done = reset(o.done)
	o.planNextFrame(f)
	for _, at := range o.presentedCommits {
		o.s.latency.add(f.Time - at)
	}
	o.presentedCommits = o.presentedCommits[:0]
	o.shownFeedback, o.pendingFeedback = o.pendingFeedback, reset(o.shownFeedback)
	o.presented(f)
	if !o.s.seat.cursor.cursorFrameDone(o) { // a cursor plane commit leaves the frame on screen
		if b := o.shownDirect; b != nil {
			b.shown--
			b.maybeFree()
		}
		o.shownDirect, o.presentedDirect = o.presentedDirect, nil
		o.shownTarget = o.presentedTarget
		o.completeCaptures(o.shownTarget, f)
	}
	o.s.seat.cursor.retryPlane(o)
	o.s.scheduleFrames()
}

// updateTextures uploads what changed in every shown surface's content
// (before a frame begins: renderers take uploads outside frames).
func (s *Server) updateTextures() {
	for _, sf := range s.surfaces {
		s.updateTree(sf)
	}
	if err := s.seat.cursor.updateTexture(s.renderer); err != nil {
		s.log.Error("cursor texture upload", "renderer", s.renderer.Name(), "err", err)
	}
}

func (s *Server) updateTree(sf *surface) {
	if sf.content == nil {
		return
	}
	for _, x := range sf.stack {
		if x != sf {
			s.updateTree(x)
			continue
		}
		if err := sf.updateTexture(s.renderer); err != nil {
			s.log.Error("texture upload", "renderer", s.renderer.Name(), "err", err)
			s.rendererFailed(err)
			return
		}
	}
}

// rendererFailed asks Options.RecoverRenderer for a replacement of a
// renderer that failed (a lost GL context); with one, every texture is
// made again and every output redrawn.
func (s *Server) rendererFailed(err error) {
	if s.recover == nil {
		return
	}
	next, why, ok := s.recover(s.renderer, err)
	if !ok {
		return
	}
	s.log.Warn("renderer replaced", "from", s.renderer.Name(), "to", next.Name(), "why", why)
	s.renderer = next
	s.damageAll()
}

// directCandidate returns the client buffer this frame can show as it is
// (and its surface): one toplevel alone on the output, with no
// subsurfaces, whose held dma-buf is opaque, unscaled and exactly the
// output's size and place, and which the display accepts on its primary
// plane. nil: compose.
func (o *output) directCandidate() (*surface, *dmabufBuffer) {
	if o.scanout == nil || len(o.captures) > 0 || o.s.seat.cursor.composedOn(o) {
		return nil, nil
	}
	sf := o.soleSurface()
	if sf == nil {
		return nil, nil
	}
	b := sf.held
	if b == nil || b.destroyed || len(sf.stack) != 1 || sf.role == nil || sf.role.toplevel == 0 ||
		!sf.opaque || sf.role.pos != o.origin() || sf.size() != o.bounds.Size() ||
		sf.source() != o.bounds || b.buf.Width != o.bounds.Dx() || b.buf.Height != o.bounds.Dy() || !o.mayScanOut(b) {
		return nil, nil
	}
	if v := o.scanout.CanScanOut(b.buf); v.Path != scanout.PathDirect {
		if !sf.directRefused {
			sf.directRefused = true
			o.s.log.Info("client buffer composed, not scanned out", "output", o.o.Name(), "step", v.Step, "reason", v.Reason)
			if v.Step == scanout.StepFormat {
				sf.refusedForFormat()
			}
		}
		return nil, nil
	}
	return sf, b
}

// presentDirect puts a client's buffer on screen with no composition and
// no copy. It reports false (compose instead) when the present failed.
func (s *Server) presentDirect(o *output, sf *surface, b *dmabufBuffer) bool {
	damage := o.takeDamage()
	v, err := o.scanout.PresentBuffer(b.buf, damage, nil)
	if err != nil {
		s.log.Warn("direct scanout of a client buffer failed, composing", "output", o.o.Name(), "err", err, "reason", v.Reason)
		o.damage = append(o.damage, damage...)
		return false
	}
	o.directDamage = appendAll(o.directDamage, damage)
	sf.directRefused = false
	o.takeFrameWork(sf)
	s.seat.cursor.takeFrameWork(o)
	s.seat.cursor.committedWith(o)
	b.shown++
	s.directFrames.Add(1)
	o.presentedDirect = b
	o.framePresented(b.buf, damage)
	return true
}
