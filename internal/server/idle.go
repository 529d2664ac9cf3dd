package server

import (
	"time"

	"github.com/minicomp/minicomp/internal/protocol"
)

// Idle: ext-idle-notify tells idle daemons (swayidle) when the seat has
// had no input for their timeout, and when input resumes; idle-inhibit
// lets a client (a video player) hold that off while its surface is
// shown. Input is every event the seat routes (backend and virtual
// devices alike); the loop's timer fires at the next deadline.

// idleState is the server's idle bookkeeping.
type idleState struct {
	lastInput     time.Time
	notifications []*idleNotification
	inhibitors    []*idleInhibitor
}

func (s *Server) bindIdleNotifier(c *Client, id, version uint32) error {
	_, err := register[protocol.ExtIdleNotifierV1Handler](c, id, protocol.ExtIdleNotifierV1Interface, version,
		&idleNotifier{c: c, id: id}, protocol.DispatchExtIdleNotifierV1)
	return err
}

type idleNotifier struct {
	c  *Client
	id uint32
}

func (n *idleNotifier) Destroy() error { return nil }

// maxIdleTimeout bounds a timeout (a day): beyond it time.Duration
// arithmetic stays far from overflow and no idle daemon needs more.
const maxIdleTimeout = 24 * 3600 * 1000

func (n *idleNotifier) GetIdleNotification(id, timeout, seatID uint32) error {
	if _, err := n.c.lookup(n.id, seatID, protocol.WlSeatInterface); err != nil {
		return err
	}
	if timeout > maxIdleTimeout {
		return errorf(n.id, protocol.WlDisplayErrorInvalidMethod, "idle timeout %d ms is more than a day", timeout)
	}
	s := n.c.s
	in := &idleNotification{c: n.c, id: id, timeout: time.Duration(timeout) * time.Millisecond}
	o, err := register[protocol.ExtIdleNotificationV1Handler](n.c, id, protocol.ExtIdleNotificationV1Interface, 1, in, protocol.DispatchExtIdleNotificationV1)
	if err != nil {
		return err
	}
	if s.idle.lastInput.IsZero() {
		s.idle.lastInput = time.Now()
	}
	in.since = time.Now() // a new notification counts from its creation
	s.idle.notifications = append(s.idle.notifications, in)
	o.onDestroy = func() { s.idle.notifications = without(s.idle.notifications, in) }
	s.idleTick()
	return nil
}

// idleNotification is one ext_idle_notification_v1.
type idleNotification struct {
	c       *Client
	id      uint32
	timeout time.Duration
	since   time.Time // when it was made: idle is counted from the later of this and the last input
	idled   bool
}

func (in *idleNotification) Destroy() error { return nil }

// inputActivity is called for every input event the seat routes: idled
// notifications resume (the deadlines move with lastInput).
func (s *Server) inputActivity() {
	s.idle.lastInput = time.Now()
	for _, in := range s.idle.notifications {
		if in.idled {
			in.idled = false
			in.c.send(protocol.ExtIdleNotificationV1Resumed(in.c.conn, in.id))
		}
	}
	if len(s.idle.notifications) > 0 {
		s.idleTick()
	}
}

// idleTick sends idled to the notifications whose timeout passed without
// input, and arms the loop's timer for the next deadline. While an
// inhibitor's surface is shown, nothing idles: the time counts from now.
func (s *Server) idleTick() {
	if len(s.idle.notifications) == 0 {
		return
	}
	now := time.Now()
	if s.idleInhibited() {
		s.idle.lastInput = now
	}
	var next time.Time
	for _, in := range s.idle.notifications {
		if in.idled {
			continue
		}
		from := s.idle.lastInput
		if in.since.After(from) {
			from = in.since
		}
		at := from.Add(in.timeout)
		if !now.Before(at) {
			in.idled = true
			in.c.send(protocol.ExtIdleNotificationV1Idled(in.c.conn, in.id))
			continue
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	if !next.IsZero() {
		s.loop.armTimer(next)
	}
}

// idleInhibited reports whether an inhibitor's surface is on screen.
func (s *Server) idleInhibited() bool {
	for _, in := range s.idle.inhibitors {
		if in.sf.gone {
			continue
		}
		if _, shown := in.sf.layoutRect(); shown {
			return true
		}
	}
	return false
}

func (s *Server) bindIdleInhibitManager(c *Client, id, version uint32) error {
	_, err := register[protocol.ZwpIdleInhibitManagerV1Handler](c, id, protocol.ZwpIdleInhibitManagerV1Interface, version,
		&idleInhibitManager{c: c, id: id}, protocol.DispatchZwpIdleInhibitManagerV1)
	return err
}

type idleInhibitManager struct {
	c  *Client
	id uint32
}

func (m *idleInhibitManager) Destroy() error { return nil }

func (m *idleInhibitManager) CreateInhibitor(id, surfaceID uint32) error {
	o, err := m.c.lookup(m.id, surfaceID, protocol.WlSurfaceInterface)
	if err != nil {
		return err
	}
	s := m.c.s
	in := &idleInhibitor{sf: o.handler.(*surface)}
	io, err := register[protocol.ZwpIdleInhibitorV1Handler](m.c, id, protocol.ZwpIdleInhibitorV1Interface, 1, in, protocol.DispatchZwpIdleInhibitorV1)
	if err != nil {
		return err
	}
	s.idle.inhibitors = append(s.idle.inhibitors, in)
	io.onDestroy = func() {
		s.idle.inhibitors = without(s.idle.inhibitors, in)
		// The full timeout runs from when the inhibitor went.
		if s.idleInhibited() || len(s.idle.notifications) == 0 {
			return
		}
		s.idle.lastInput = time.Now()
		s.idleTick()
	}
	if s.idleInhibited() {
		s.inputActivity() // a video starting wakes the screen, as input would
	}
	return nil
}

// inhibitorHidden restarts the idle time when an inhibiting surface
// leaves the screen: the full timeout runs from then.
func (s *Server) inhibitorHidden(sf *surface) {
	for _, in := range s.idle.inhibitors {
		if in.sf == sf {
			s.idle.lastInput = time.Now()
			s.idleTick()
			return
		}
	}
}

// idleInhibitor is one zwp_idle_inhibitor_v1.
type idleInhibitor struct{ sf *surface }

func (in *idleInhibitor) Destroy() error { return nil }
