package server

import (
	"image"
	"slices"

	"github.com/minicomp/minicomp/internal/protocol"
)

// wl_subcompositor: surfaces placed relative to a parent surface, stacked
// with it, and (synchronized, the default) changing only when the parent
// commits.

func (s *Server) bindSubcompositor(c *Client, id, version uint32) error {
	_, err := register[protocol.WlSubcompositorHandler](c, id, protocol.WlSubcompositorInterface, version, &subcompositor{c: c, id: id}, protocol.DispatchWlSubcompositor)
	return err
}

type subcompositor struct {
	c  *Client
	id uint32
}

func (s *subcompositor) Destroy() error { return nil }

func (s *subcompositor) GetSubsurface(id, surfaceID, parentID uint32) error {
	o, err := s.c.lookup(s.id, surfaceID, protocol.WlSurfaceInterface)
	if err != nil {
		return err
	}
	po, err := s.c.lookup(s.id, parentID, protocol.WlSurfaceInterface)
	if err != nil {
		return err
	}
	sf, parent := o.handler.(*surface), po.handler.(*surface)
	if sf.role != nil || sf.sub != nil {
		return errorf(s.id, protocol.WlSubcompositorErrorBadSurface, "surface %d already has a role", surfaceID)
	}
	for p := parent; p != nil; {
		if p == sf {
			return errorf(s.id, protocol.WlSubcompositorErrorBadSurface, "surface %d is an ancestor of its parent %d", surfaceID, parentID)
		}
		if p.sub == nil {
			break
		}
		p = p.sub.parent
	}
	sub := &subsurface{id: id, sf: sf, parent: parent, sync: true}
	so, err := register[protocol.WlSubsurfaceHandler](s.c, id, protocol.WlSubsurfaceInterface, 1, sub, protocol.DispatchWlSubsurface)
	if err != nil {
		return err
	}
	so.onDestroy = func() {
		if sub.sf != nil && sub.sf.sub == sub {
			sub.sf.damageTree()
			sub.sf.c.s.seat.surfaceGone(sub.sf) // it (and what it holds) is no longer shown
			sub.detach()
			sub.sf.sub = nil
		}
	}
	sf.sub = sub
	// A new subsurface goes on top of its parent's stack; like its
	// position, that takes effect on the parent's commit.
	parent.pendingStack = append(parent.pendingStack, sf)
	return nil
}

// subsurface is a wl_subsurface: the role of sf under parent.
type subsurface struct {
	id              uint32
	sf              *surface
	parent          *surface // nil once the parent is destroyed
	pos, pendingPos image.Point
	sync            bool
}

// detach takes the surface out of its parent's stacks.
func (sub *subsurface) detach() {
	if sub.parent == nil {
		return
	}
	sub.parent.stack = without(sub.parent.stack, sub.sf)
	sub.parent.pendingStack = without(sub.parent.pendingStack, sub.sf)
	sub.parent = nil
}

// without returns list without the first element equal to x.
func without[T comparable](list []T, x T) []T {
	if i := slices.Index(list, x); i >= 0 {
		return slices.Delete(list, i, i+1)
	}
	return list
}

// synchronized reports whether the subsurface's commits wait for its
// parent's: it is in sync mode, or an ancestor is.
func (sub *subsurface) synchronized() bool {
	for s := sub; s != nil; {
		if s.sync {
			return true
		}
		if s.parent == nil || s.parent.sub == nil {
			return false
		}
		s = s.parent.sub
	}
	return false
}

func (sub *subsurface) Destroy() error { return nil }

func (sub *subsurface) SetPosition(x, y int32) error {
	sub.pendingPos = image.Pt(int(x), int(y))
	return nil
}

func (sub *subsurface) PlaceAbove(sibling uint32) error { return sub.place(sibling, 1) }
func (sub *subsurface) PlaceBelow(sibling uint32) error { return sub.place(sibling, 0) }

// place moves the surface just above (after = 1) or below (0) sibling in
// the parent's pending stack.
func (sub *subsurface) place(siblingID uint32, after int) error {
	if sub.parent == nil {
		return errorf(sub.id, protocol.WlSubsurfaceErrorBadSurface, "the parent surface was destroyed")
	}
	o, err := sub.sf.c.lookup(sub.id, siblingID, protocol.WlSurfaceInterface)
	if err != nil {
		return err
	}
	sib := o.handler.(*surface)
	if sib == sub.sf || (sib != sub.parent && (sib.sub == nil || sib.sub.parent != sub.parent)) {
		return errorf(sub.id, protocol.WlSubsurfaceErrorBadSurface, "surface %d is neither the parent nor a sibling", siblingID)
	}
	st := without(sub.parent.pendingStack, sub.sf)
	for i, x := range st {
		if x == sib {
			i += after
			st = append(st[:i], append([]*surface{sub.sf}, st[i:]...)...)
			break
		}
	}
	sub.parent.pendingStack = st
	return nil
}

func (sub *subsurface) SetSync() error { sub.sync = true; return nil }

// SetDesync leaves synchronized mode; a commit cached so far applies now
// (unless an ancestor is still synchronized).
func (sub *subsurface) SetDesync() error {
	sub.sync = false
	if sub.sf != nil && sub.sf.hasCache && !sub.synchronized() {
		if err := sub.sf.apply(&sub.sf.cached); err != nil {
			return err
		}
		sub.sf.c.s.scheduleFrames()
	}
	return nil
}
