package x11

import (
	"errors"
	"fmt"
	"sync"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xproto"
	"golang.org/x/sys/unix"
)

// segment is a SysV shared memory segment attached both here and in the
// X server. It is marked for removal (IPC_RMID) as soon as the server has
// attached it, so the kernel frees it when both sides detach, even if
// this process crashes.
type segment struct {
	id  int     // SysV shmid
	seg shm.Seg // the server's name for it
	mem []byte
}

var (
	extMu   sync.Mutex
	extDone = map[[2]byte]bool{}
)

// initSHM is shm.Init without its data race: shm.Init writes xgb's
// process-wide event and error constructor maps every time, while the
// reader goroutines of other connections read them. Here the maps are
// written once per (first event, first error) pair, before this
// connection's events can need them.
func initSHM(c *xgb.Conn) error {
	r, err := xproto.QueryExtension(c, uint16(len("MIT-SHM")), "MIT-SHM").Reply()
	if err != nil {
		return fmt.Errorf("query MIT-SHM: %w", err)
	}
	if !r.Present {
		return errors.New("the server has no MIT-SHM extension")
	}
	c.ExtLock.Lock()
	c.Extensions["MIT-SHM"] = r.MajorOpcode
	c.ExtLock.Unlock()
	extMu.Lock()
	defer extMu.Unlock()
	key := [2]byte{r.FirstEvent, r.FirstError}
	if !extDone[key] {
		for n, f := range xgb.NewExtEventFuncs["MIT-SHM"] {
			xgb.NewEventFuncs[int(r.FirstEvent)+n] = f
		}
		for n, f := range xgb.NewExtErrorFuncs["MIT-SHM"] {
			xgb.NewErrorFuncs[int(r.FirstError)+n] = f
		}
		extDone[key] = true
	}
	return nil
}

// newSegment creates a segment of size bytes and attaches it to the
// server.
func newSegment(c *xgb.Conn, size int) (*segment, error) {
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, size, unix.IPC_CREAT|0o600)
	if err != nil {
		return nil, fmt.Errorf("shmget %d bytes: %w", size, err)
	}
	mem, err := unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		return nil, fmt.Errorf("shmat: %w", err)
	}
	s := &segment{id: id, mem: mem}
	sid, err := shm.NewSegId(c)
	if err == nil {
		s.seg = sid
		err = shm.AttachChecked(c, sid, uint32(id), false).Check()
	}
	// The server has attached it (or refused to): nothing needs the id
	// any more, so the segment lives only as long as the attachments.
	unix.SysvShmCtl(id, unix.IPC_RMID, nil)
	if err != nil {
		unix.SysvShmDetach(mem)
		return nil, fmt.Errorf("MIT-SHM attach of SysV segment %d: %w", id, err)
	}
	return s, nil
}

// close detaches the segment from the server (when it is still there)
// and from this process.
func (s *segment) close(c *xgb.Conn, serverAlive bool) error {
	if s == nil || s.mem == nil {
		return nil
	}
	if serverAlive {
		shm.Detach(c, s.seg)
	}
	err := unix.SysvShmDetach(s.mem)
	s.mem = nil
	if err != nil {
		return fmt.Errorf("x11: shmdt segment %d: %w", s.id, err)
	}
	return nil
}

// probeSHM checks that MIT-SHM really shares memory with the server: the
// server fills a pixel of a pixmap and copies it into a fresh segment
// with shm.GetImage, and the pixel must show up here. A remote server
// refuses the attach or (worse) attaches a different segment of the
// same id on its own host; both are caught.
func (b *Backend) probeSHM() error {
	c := b.conn
	if err := initSHM(c); err != nil {
		return err
	}
	v, err := shm.QueryVersion(c).Reply()
	if err != nil {
		return fmt.Errorf("MIT-SHM query version: %w", err)
	}
	s, err := newSegment(c, 4096)
	if err != nil {
		return err
	}
	defer s.close(c, true)
	pix, err := xproto.NewPixmapId(c)
	if err != nil {
		return fmt.Errorf("pixmap id: %w", err)
	}
	gc, err := xproto.NewGcontextId(c)
	if err != nil {
		return fmt.Errorf("gc id: %w", err)
	}
	const probe = 0xc0ffee
	xproto.CreatePixmap(c, b.depth, pix, xproto.Drawable(b.screen.Root), 1, 1)
	xproto.CreateGC(c, gc, xproto.Drawable(pix), xproto.GcForeground, []uint32{probe})
	xproto.PolyFillRectangle(c, xproto.Drawable(pix), gc, []xproto.Rectangle{{X: 0, Y: 0, Width: 1, Height: 1}})
	_, err = shm.GetImage(c, xproto.Drawable(pix), 0, 0, 1, 1, 0xffffffff, xproto.ImageFormatZPixmap, s.seg, 0).Reply()
	xproto.FreeGC(c, gc)
	xproto.FreePixmap(c, pix)
	if err != nil {
		return fmt.Errorf("MIT-SHM GetImage into the probe segment: %w", err)
	}
	got := uint32(s.mem[0]) | uint32(s.mem[1])<<8 | uint32(s.mem[2])<<16
	if got != probe {
		return fmt.Errorf("MIT-SHM %d.%d attached a segment but the server's writes do not reach us (a remote X server?): probe pixel %06x, want %06x",
			v.MajorVersion, v.MinorVersion, got, probe)
	}
	b.log.Debug("MIT-SHM works", "version", fmt.Sprintf("%d.%d", v.MajorVersion, v.MinorVersion))
	return nil
}
