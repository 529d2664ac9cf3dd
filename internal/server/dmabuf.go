package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/scanout"
)

// zwp_linux_dmabuf_v1 (version 4, with feedback): clients hand over
// dma-bufs; minicomp checks the declared layout against the buffer's real
// size (scanout.NewBuffer). Only single-plane RGB formats for now.
//
// With a renderer that imports dma-bufs (render.DMABufImporter: GLES on a
// GPU) every buffer is imported once, when it is created (a buffer the
// driver refuses fails then, as the protocol allows), and drawn as a
// texture while it is its surface's content; nothing is copied. Without
// one, the content is read with the CPU, access bracketed.
//
// Modifiers: LINEAR always; DRM_FORMAT_MOD_INVALID (the implicit
// modifier: a layout only the allocating driver knows) is advertised and
// accepted only with such a renderer, and such a buffer is never read by
// the CPU as if it were linear (copyTo refuses it). A client that sends
// it all the same gets invalid_format, as version 4 says for a pair that
// was not advertised.

var dmabufFormats = []scanout.Format{scanout.XRGB8888, scanout.ARGB8888}

func (s *Server) bindLinuxDmabuf(c *Client, id, version uint32) error {
	d := &linuxDmabuf{c: c, id: id, version: version}
	if _, err := register[protocol.ZwpLinuxDmabufV1Handler](c, id, protocol.ZwpLinuxDmabufV1Interface, version, d, protocol.DispatchZwpLinuxDmabufV1); err != nil {
		return err
	}
	if version < 4 {
		mods := s.dmabufModifiers()
		for _, f := range dmabufFormats {
			if version < 3 {
				c.send(protocol.ZwpLinuxDmabufV1Format(c.conn, id, uint32(f)))
				continue
			}
			for _, m := range mods {
				c.send(protocol.ZwpLinuxDmabufV1Modifier(c.conn, id, uint32(f), uint32(m>>32), uint32(m)))
			}
		}
	}
	return nil
}

// importer returns the renderer as a dma-buf importer when it can import
// client buffers now, else nil.
func (s *Server) importer() render.DMABufImporter {
	if i, ok := s.renderer.(render.DMABufImporter); ok && i.CanImportDMABuf() {
		return i
	}
	return nil
}

// dmabufModifiers returns the modifiers clients may use with every
// format in dmabufFormats: LINEAR, and the implicit modifier when the
// renderer imports (only the GPU can know an implicit layout).
func (s *Server) dmabufModifiers() []uint64 {
	if s.importer() != nil {
		return []uint64{scanout.ModLinear, scanout.ModInvalid}
	}
	return []uint64{scanout.ModLinear}
}

type linuxDmabuf struct {
	c       *Client
	id      uint32
	version uint32
}

func (d *linuxDmabuf) Destroy() error { return nil }

func (d *linuxDmabuf) CreateParams(id uint32) error {
	p := &dmabufParams{c: d.c, id: id, version: d.version, fd: -1}
	o, err := register[protocol.ZwpLinuxBufferParamsV1Handler](d.c, id, protocol.ZwpLinuxBufferParamsV1Interface, d.version, p, protocol.DispatchZwpLinuxBufferParamsV1)
	if err != nil {
		return err
	}
	o.onDestroy = p.closeFD
	return nil
}

func (d *linuxDmabuf) GetDefaultFeedback(id uint32) error { return d.feedback(id, nil) }

func (d *linuxDmabuf) GetSurfaceFeedback(id, surfaceID uint32) error {
	o, err := d.c.lookup(d.id, surfaceID, protocol.WlSurfaceInterface)
	if err != nil {
		return err
	}
	return d.feedback(id, o.handler.(*surface))
}

// feedback makes a zwp_linux_dmabuf_feedback_v1 (for a surface, or the
// default one for sf nil) and sends it (sendFeedback).
func (d *linuxDmabuf) feedback(id uint32, sf *surface) error {
	c := d.c
	o, err := register[protocol.ZwpLinuxDmabufFeedbackV1Handler](c, id, protocol.ZwpLinuxDmabufFeedbackV1Interface, d.version, inert{}, protocol.DispatchZwpLinuxDmabufFeedbackV1)
	if err != nil {
		return err
	}
	if sf != nil {
		sf.dmabufFeedbacks = append(sf.dmabufFeedbacks, id)
		o.onDestroy = func() { sf.dmabufFeedbacks = without(sf.dmabufFeedbacks, id) }
	}
	return c.sendFeedback(id, sf)
}

// sendFeedback sends the format table (a sealed memfd) and the tranches:
// first a scanout tranche on the display device with the pairs its
// primary plane takes, when the surface could be shown directly (a
// toplevel of an output's size on an output that shows client buffers)
// or its buffer was refused for its format (then sent again, as weston
// does: a hint to reallocate); then the main device (the render node the
// server pairs with, 0 without one).
func (c *Client) sendFeedback(id uint32, sf *surface) error {
	mods := c.s.dmabufModifiers()
	type pair struct {
		f scanout.Format
		m uint64
	}
	pairs := make([]pair, 0, len(dmabufFormats)*len(mods))
	for _, f := range dmabufFormats {
		for _, m := range mods {
			pairs = append(pairs, pair{f, m})
		}
	}
	table := make([]byte, 16*len(pairs))
	indices := make([]byte, 0, 2*len(pairs))
	for i, p := range pairs {
		binary.NativeEndian.PutUint32(table[16*i:], uint32(p.f))
		binary.NativeEndian.PutUint64(table[16*i+8:], p.m)
		indices = binary.NativeEndian.AppendUint16(indices, uint16(i))
	}
	fd, err := sealedMemfd("minicomp-dmabuf-formats", table)
	if err != nil {
		return fmt.Errorf("dmabuf format table: %w", err)
	}
	defer unix.Close(fd)
	dev := binary.NativeEndian.AppendUint64(nil, c.s.mainDevice)
	c.send(protocol.ZwpLinuxDmabufFeedbackV1FormatTable(c.conn, id, fd, uint32(len(table))))
	c.send(protocol.ZwpLinuxDmabufFeedbackV1MainDevice(c.conn, id, dev))
	if sf != nil && sf.sub == nil && sf.role != nil && sf.role.toplevel != 0 {
		for _, o := range c.s.outputs {
			if o.scanout == nil || !sf.directRefused && (!sf.mapped || sf.size() != o.bounds.Size()) {
				continue
			}
			display, planeFormats := o.scanout.ScanoutFormats()
			var scan []byte
			for i, p := range pairs {
				for _, m := range planeFormats[p.f] {
					if m == scanout.ModLinear && p.m == scanout.ModLinear {
						scan = binary.NativeEndian.AppendUint16(scan, uint16(i))
					}
				}
			}
			if display == 0 || len(scan) == 0 {
				continue
			}
			c.send(protocol.ZwpLinuxDmabufFeedbackV1TrancheTargetDevice(c.conn, id, binary.NativeEndian.AppendUint64(nil, display)))
			c.send(protocol.ZwpLinuxDmabufFeedbackV1TrancheFormats(c.conn, id, scan))
			c.send(protocol.ZwpLinuxDmabufFeedbackV1TrancheFlags(c.conn, id, protocol.ZwpLinuxDmabufFeedbackV1TrancheFlagsScanout))
			c.send(protocol.ZwpLinuxDmabufFeedbackV1TrancheDone(c.conn, id))
			break
		}
	}
	c.send(protocol.ZwpLinuxDmabufFeedbackV1TrancheTargetDevice(c.conn, id, dev))
	c.send(protocol.ZwpLinuxDmabufFeedbackV1TrancheFormats(c.conn, id, indices))
	c.send(protocol.ZwpLinuxDmabufFeedbackV1TrancheFlags(c.conn, id, 0))
	c.send(protocol.ZwpLinuxDmabufFeedbackV1TrancheDone(c.conn, id))
	c.send(protocol.ZwpLinuxDmabufFeedbackV1Done(c.conn, id))
	return nil
}

// refusedForFormat re-sends the surface's dma-buf feedback with a scanout
// tranche when the display refused its buffer for the format or modifier.
func (sf *surface) refusedForFormat() {
	for _, id := range sf.dmabufFeedbacks {
		if err := sf.c.sendFeedback(id, sf); err != nil {
			sf.c.log.Warn("dma-buf feedback", "err", err)
		}
	}
}

// sealedMemfd returns a read-only-sealed memfd holding data.
func sealedMemfd(name string, data []byte) (int, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, err
	}
	if _, err := unix.Pwrite(fd, data, 0); err != nil {
		unix.Close(fd)
		return -1, err
	}
	unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL)
	return fd, nil
}

type dmabufParams struct {
	c        *Client
	id       uint32
	version  uint32
	fd       int
	offset   uint32
	stride   uint32
	modifier uint64
	used     bool
}

func (p *dmabufParams) closeFD() {
	if p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
	}
}

func (p *dmabufParams) Destroy() error { return nil }

func (p *dmabufParams) Add(fd int, plane, offset, stride, modHi, modLo uint32) error {
	if p.used {
		unix.Close(fd)
		return errorf(p.id, protocol.ZwpLinuxBufferParamsV1ErrorAlreadyUsed, "params already used")
	}
	if plane != 0 {
		unix.Close(fd)
		return errorf(p.id, protocol.ZwpLinuxBufferParamsV1ErrorPlaneIdx, "plane %d: only single-plane formats are supported", plane)
	}
	if p.fd >= 0 {
		unix.Close(fd)
		return errorf(p.id, protocol.ZwpLinuxBufferParamsV1ErrorPlaneSet, "plane 0 already set")
	}
	p.fd, p.offset, p.stride, p.modifier = fd, offset, stride, uint64(modHi)<<32|uint64(modLo)
	return nil
}

func (p *dmabufParams) Create(w, h int32, format, flags uint32) error {
	b, err := p.build(w, h, format, flags)
	if err != nil {
		var pe *protocolError
		if errors.As(err, &pe) {
			return err
		}
		p.c.log.Info("client dma-buf refused", "err", err)
		p.c.send(protocol.ZwpLinuxBufferParamsV1Failed(p.c.conn, p.id))
		return nil
	}
	o, err := p.c.addBuffer(0, b) // an id from the server's range
	if err != nil {
		return err
	}
	p.c.send(protocol.ZwpLinuxBufferParamsV1Created(p.c.conn, p.id, o.id))
	return nil
}

func (p *dmabufParams) CreateImmed(id uint32, w, h int32, format, flags uint32) error {
	b, err := p.build(w, h, format, flags)
	if err != nil {
		var pe *protocolError
		if errors.As(err, &pe) {
			return err
		}
		return errorf(p.id, protocol.ZwpLinuxBufferParamsV1ErrorInvalidWlBuffer, "%v", err)
	}
	_, err = p.c.addBuffer(id, b)
	return err
}

// build checks the parameters and wraps the dma-buf.
func (p *dmabufParams) build(w, h int32, format, flags uint32) (*dmabufBuffer, error) {
	if p.used {
		return nil, errorf(p.id, protocol.ZwpLinuxBufferParamsV1ErrorAlreadyUsed, "params already used")
	}
	p.used = true
	if p.fd < 0 {
		return nil, errorf(p.id, protocol.ZwpLinuxBufferParamsV1ErrorIncomplete, "no plane added")
	}
	if w <= 0 || h <= 0 {
		return nil, errorf(p.id, protocol.ZwpLinuxBufferParamsV1ErrorInvalidDimensions, "%dx%d", w, h)
	}
	if !p.c.s.dmabufSupported(scanout.Format(format), p.modifier) {
		return nil, errorf(p.id, protocol.ZwpLinuxBufferParamsV1ErrorInvalidFormat, "format %v modifier %s was not advertised (%s)",
			scanout.Format(format), scanout.ModifierName(p.modifier), p.c.s.dmabufOffer())
	}
	file := os.NewFile(uintptr(p.fd), "client dma-buf")
	p.fd = -1
	buf, err := scanout.NewBuffer(file, int(w), int(h), scanout.Format(format), p.modifier, p.offset, p.stride)
	if err != nil {
		file.Close()
		if errors.Is(err, scanout.ErrLayout) {
			return nil, errorf(p.id, protocol.ZwpLinuxBufferParamsV1ErrorOutOfBounds, "%v", err)
		}
		return nil, err
	}
	b := &dmabufBuffer{buf: buf}
	if err := b.importInto(p.c.s.renderer, p.c.log); err != nil {
		buf.Close()
		return nil, err
	}
	return b, nil
}

// dmabufSupported reports whether format+modifier is a pair the server
// advertised.
func (s *Server) dmabufSupported(format scanout.Format, modifier uint64) bool {
	for _, f := range dmabufFormats {
		if f != format {
			continue
		}
		for _, m := range s.dmabufModifiers() {
			if m == modifier {
				return true
			}
		}
	}
	return false
}

// dmabufOffer says what clients may send, for an invalid_format message.
func (s *Server) dmabufOffer() string {
	if s.importer() != nil {
		return "LINEAR or the implicit modifier"
	}
	return "LINEAR only: the renderer draws client buffers with the CPU, which cannot read an implicit layout"
}

// dmabufBuffer is a wl_buffer backed by a client's dma-buf. When outputs
// can scan client buffers out, a committed dma-buf is kept (held) instead
// of copied: it may go on screen as it is. It is released (or, once the
// client destroyed it, closed) when no surface holds it and no output
// shows it.
type dmabufBuffer struct {
	c           *Client
	buf         *scanout.Buffer
	id          uint32
	destroyed   bool
	held        int  // surfaces whose current content it is
	shown       int  // outputs presenting or showing it
	needRelease bool // committed and not yet released
	closed      bool
	// tex samples the buffer in texOwner (the renderer that imported it
	// at creation); nil when the renderer copies through the CPU.
	tex      render.Texture
	texOwner render.Renderer
}

// importInto imports the buffer into r when r imports dma-bufs. A buffer
// with the implicit modifier must import (nothing else can read it); a
// LINEAR one that does not is copied through the CPU instead, and the log
// says why.
func (b *dmabufBuffer) importInto(r render.Renderer, log *slog.Logger) error {
	i, ok := r.(render.DMABufImporter)
	if !ok || !i.CanImportDMABuf() {
		if b.buf.Modifier != scanout.ModLinear {
			return fmt.Errorf("%v with %s: the renderer %s cannot import it", b.buf.Format, scanout.ModifierName(b.buf.Modifier), r.Name())
		}
		return nil
	}
	t, err := i.ImportDMABuf(b.buf)
	if err != nil {
		if b.buf.Modifier != scanout.ModLinear {
			return err
		}
		log.Info("client dma-buf copied by the CPU: import failed", "buffer", b.buf.String(), "err", err)
		return nil
	}
	b.tex, b.texOwner = t, r
	return nil
}

// texture returns the buffer's import into r, or nil.
func (b *dmabufBuffer) texture(r render.Renderer) render.Texture {
	if b.tex != nil && b.texOwner == r {
		return b.tex
	}
	return nil
}

// ErrImplicitLayout is returned by a CPU read of a client buffer with
// the implicit modifier: its layout is known only to the driver that
// allocated it.
var ErrImplicitLayout = errors.New("client dma-buf has the implicit modifier (DRM_FORMAT_MOD_INVALID): only the GPU can read it")

// maybeFree releases the buffer to its client, or closes it when the
// client destroyed it, once nothing holds or shows it.
func (b *dmabufBuffer) maybeFree() {
	if b.held > 0 || b.shown > 0 {
		return
	}
	if b.destroyed {
		if !b.closed {
			b.closed = true
			if b.tex != nil {
				b.tex.Release()
				b.tex = nil
			}
			b.buf.Close()
		}
		return
	}
	if b.needRelease {
		b.needRelease = false
		if b.c.s.clients[b.c] {
			b.c.send(protocol.WlBufferRelease(b.c.conn, b.id))
		}
	}
}

func (b *dmabufBuffer) Destroy() error { return nil }

// addBuffer registers a dma-buf wl_buffer: id from create_immed, or 0
// for one the server creates (create) with an id from its own range.
func (c *Client) addBuffer(id uint32, b *dmabufBuffer) (*object, error) {
	b.c = c
	var o *object
	var err error
	if id == 0 {
		o, err = registerServer[protocol.WlBufferHandler](c, protocol.WlBufferInterface, 1, b, protocol.DispatchWlBuffer)
	} else {
		o, err = register[protocol.WlBufferHandler](c, id, protocol.WlBufferInterface, 1, b, protocol.DispatchWlBuffer)
	}
	if o != nil {
		b.id = o.id
	}
	if err != nil {
		if b.tex != nil {
			b.tex.Release()
		}
		b.buf.Close()
		return nil, err
	}
	o.onDestroy = func() { b.destroyed = true; b.maybeFree() }
	return o, nil
}

func (b *dmabufBuffer) size() (int, int)  { return b.buf.Width, b.buf.Height }
func (b *dmabufBuffer) isOpaque() bool    { return b.buf.Format == scanout.XRGB8888 }
func (b *dmabufBuffer) objectID() uint32  { return b.id }
func (b *dmabufBuffer) isDestroyed() bool { return b.destroyed }

// copyTo copies the dma-buf's content into dst (w*4 bytes a row), with
// CPU access bracketed.
func (b *dmabufBuffer) copyTo(dst []byte, damage []image.Rectangle) error {
	if b.buf.Modifier != scanout.ModLinear {
		return ErrImplicitLayout
	}
	mem, err := b.buf.Map()
	if err != nil {
		return err
	}
	if err := b.buf.BeginCPUAccess(scanout.Read); err != nil {
		return err
	}
	defer b.buf.EndCPUAccess(scanout.Read)
	return safeCopyRects(dst, b.buf.Width*4, mem[b.buf.Offset:], int(b.buf.Stride), b.buf.Width, b.buf.Height, damage)
}
