package server

import (
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/minicomp/minicomp/internal/protocol"
	"golang.org/x/sys/unix"
)

// xdg-shell details kiosk apps run into: xdg_wm_base destroyed before its
// surfaces is defunct_surfaces; clients with a window are pinged and one
// that stops answering is logged (and logged again when it answers);
// xdg-activation lets a client raise and focus its own window with a
// token it got from the compositor.

// xdgExtras is the server's state for these.
type xdgExtras struct {
	wmBases   []*wmBase
	pingEvery time.Duration // <= 0: no pings
	nextPing  time.Time
	// tokens issued and not yet used, with when they expire
	tokens map[string]time.Time
	// weak makes tokens while the kernel's random pool is not ready
	// (tokenBytes); nil until then.
	weak *rand.ChaCha8
}

// getrandom is unix.Getrandom (a variable for tests).
var getrandom = unix.Getrandom

// tokenBytes fills b with random bytes without ever blocking the event
// loop: crypto/rand (getrandom) blocks until the kernel's random pool is
// initialized, which in a guest without an RNG device, or early at boot,
// can take many seconds. Until then a ChaCha8 seeded from the clock and
// the pid is used, and the log says tokens are weaker meanwhile.
func (x *xdgExtras) tokenBytes(b []byte, log *slog.Logger) {
	if n, err := getrandom(b, unix.GRND_NONBLOCK); err == nil && n == len(b) {
		return
	}
	if x.weak == nil {
		var seed [32]byte
		binary.LittleEndian.PutUint64(seed[0:], uint64(time.Now().UnixNano()))
		binary.LittleEndian.PutUint64(seed[8:], uint64(os.Getpid()))
		binary.LittleEndian.PutUint64(seed[16:], uint64(monotonic()))
		x.weak = rand.NewChaCha8(seed)
		log.Warn("activation tokens: the kernel's random pool is not ready yet; tokens are guessable until it is")
	}
	x.weak.Read(b)
}

// activationTokenLife is how long an activation token stays valid.
const activationTokenLife = 30 * time.Second

// DefaultPingInterval is Options.PingInterval's default.
const DefaultPingInterval = 5 * time.Second

// wmBaseBound registers a new xdg_wm_base for pings.
func (s *Server) wmBaseBound(w *wmBase, o *object) {
	s.xdgx.wmBases = append(s.xdgx.wmBases, w)
	o.onDestroy = func() { s.xdgx.wmBases = without(s.xdgx.wmBases, w) }
	if s.xdgx.pingEvery > 0 && s.xdgx.nextPing.IsZero() {
		s.xdgx.nextPing = time.Now().Add(s.xdgx.pingEvery)
		s.loop.armTimer(s.xdgx.nextPing)
	}
}

// pingTick, when the ping interval passed: a client that has not answered
// the last ping is logged as unresponsive (once); every client with a
// mapped window gets a new ping when its last one was answered.
func (s *Server) pingTick() {
	if s.xdgx.nextPing.IsZero() {
		return
	}
	if time.Now().Before(s.xdgx.nextPing) {
		s.loop.armTimer(s.xdgx.nextPing) // the timer fired for something else
		return
	}
	s.xdgx.nextPing = time.Time{}
	if len(s.xdgx.wmBases) == 0 {
		return
	}
	for _, w := range s.xdgx.wmBases {
		if w.pingSerial != 0 {
			if !w.unresponsive {
				w.unresponsive = true
				w.c.log.Warn("client not responding to xdg_wm_base.ping", "after", time.Since(w.pingSent).Round(time.Millisecond))
			}
			continue
		}
		if w.hasWindow() {
			w.pingSerial, w.pingSent = s.nextSerial(), time.Now()
			w.c.send(protocol.XdgWmBasePing(w.c.conn, w.id, w.pingSerial))
		}
	}
	s.xdgx.nextPing = time.Now().Add(s.xdgx.pingEvery)
	s.loop.armTimer(s.xdgx.nextPing)
}

// hasWindow reports whether the client has a mapped toplevel.
func (w *wmBase) hasWindow() bool {
	for _, sf := range w.c.s.surfaces {
		if sf.c == w.c && sf.role != nil && sf.role.toplevel != 0 {
			return true
		}
	}
	return false
}

// Pong answers the last ping; other serials are ignored (a late answer
// to a ping already superseded cannot happen: one is out at a time).
func (w *wmBase) Pong(serial uint32) error {
	if serial != w.pingSerial || serial == 0 {
		return nil
	}
	w.pingSerial = 0
	if w.unresponsive {
		w.unresponsive = false
		w.c.log.Info("client responding again", "after", time.Since(w.pingSent).Round(time.Millisecond))
	}
	return nil
}

// Destroy of an xdg_wm_base whose xdg_surfaces still exist is
// defunct_surfaces.
func (w *wmBase) Destroy() error {
	if w.surfaces > 0 {
		return errorf(w.id, protocol.XdgWmBaseErrorDefunctSurfaces, "xdg_wm_base destroyed with %d xdg_surfaces alive", w.surfaces)
	}
	return nil
}

func (s *Server) bindXdgActivation(c *Client, id, version uint32) error {
	_, err := register[protocol.XdgActivationV1Handler](c, id, protocol.XdgActivationV1Interface, version,
		&activation{c: c, id: id}, protocol.DispatchXdgActivationV1)
	return err
}

type activation struct {
	c  *Client
	id uint32
}

func (a *activation) Destroy() error { return nil }

func (a *activation) GetActivationToken(id uint32) error {
	_, err := register[protocol.XdgActivationTokenV1Handler](a.c, id, protocol.XdgActivationTokenV1Interface, 1,
		&activationToken{c: a.c, id: id}, protocol.DispatchXdgActivationTokenV1)
	return err
}

// Activate raises and focuses the surface's window when the token is one
// the compositor issued, unused and not expired; otherwise nothing
// happens (the protocol's answer to a bad token).
func (a *activation) Activate(token string, surfaceID uint32) error {
	o, err := a.c.lookup(a.id, surfaceID, protocol.WlSurfaceInterface)
	if err != nil {
		return err
	}
	s := a.c.s
	exp, ok := s.xdgx.tokens[token]
	if !ok || time.Now().After(exp) {
		a.c.log.Info("activation refused: unknown or expired token")
		return nil
	}
	delete(s.xdgx.tokens, token)
	sf := o.handler.(*surface)
	if sf.role == nil || sf.role.toplevel == 0 || !sf.mapped {
		return nil
	}
	s.surfaces = append(without(s.surfaces, sf), sf)
	s.restack() // back under the top and overlay layers
	sf.damageTree()
	if sf.takesKeyboard(false) {
		s.seat.setKeyboardFocus(sf)
	}
	return nil
}

// activationToken is an xdg_activation_token_v1 being built.
type activationToken struct {
	c         *Client
	id        uint32
	committed bool
}

func (t *activationToken) SetSerial(serial, seat uint32) error {
	_, err := t.c.lookup(t.id, seat, protocol.WlSeatInterface)
	return err
}
func (t *activationToken) SetAppId(appID string) error { return nil }
func (t *activationToken) SetSurface(surfaceID uint32) error {
	_, err := t.c.lookup(t.id, surfaceID, protocol.WlSurfaceInterface)
	return err
}
func (t *activationToken) Destroy() error { return nil }

// Commit issues the token: 128 random bits, valid for 30 s, once.
func (t *activationToken) Commit() error {
	if t.committed {
		return errorf(t.id, protocol.XdgActivationTokenV1ErrorAlreadyUsed, "token already committed")
	}
	t.committed = true
	s := t.c.s
	var b [16]byte
	s.xdgx.tokenBytes(b[:], s.log)
	tok := hex.EncodeToString(b[:])
	if s.xdgx.tokens == nil {
		s.xdgx.tokens = map[string]time.Time{}
	}
	now := time.Now()
	for k, exp := range s.xdgx.tokens {
		if now.After(exp) {
			delete(s.xdgx.tokens, k)
		}
	}
	if len(s.xdgx.tokens) >= 1024 {
		return errorf(t.id, protocol.WlDisplayErrorNoMemory, "too many activation tokens outstanding")
	}
	s.xdgx.tokens[tok] = now.Add(activationTokenLife)
	t.c.send(protocol.XdgActivationTokenV1Done(t.c.conn, t.id, tok))
	return nil
}
