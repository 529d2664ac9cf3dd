package wayland

import (
	"sync"

	"github.com/neurlang/wayland/wl"
)

// The generated request methods of github.com/neurlang/wayland (e.g.
// Surface.Frame, ZwpBufferParamsV1.CreateImmed) send the request before
// the caller can add a handler to the new object, and the generated
// Dispatch reads the handler map without a lock. With dispatch on its own
// goroutine, a fast reply (a frame callback, a release) could be dropped
// or race. Objects made per frame are therefore these small proxies: the
// handler is set before the object is registered and the request sent,
// through the library's public Context.Register/SendRequest.

// callbackProxy is a wl_callback whose done event calls done.
type callbackProxy struct {
	wl.BaseProxy
	done func(data uint32)
}

// Dispatch handles wl_callback.done.
func (c *callbackProxy) Dispatch(ev *wl.Event) {
	if ev.Opcode == 0 && c.done != nil {
		c.done(ev.Uint32())
	}
}

// bufferProxy is a wl_buffer whose release event calls release.
type bufferProxy struct {
	wl.BaseProxy
	release func()
}

// Dispatch handles wl_buffer.release.
func (b *bufferProxy) Dispatch(ev *wl.Event) {
	if ev.Opcode == 0 && b.release != nil {
		b.release()
	}
}

// ids hands out object ids for our own proxies, reusing those the parent
// freed (wl_display.delete_id), as libwayland does: the library only
// counts up, and a compositor's object table grows with every id, so a
// frame callback per frame would grow the parent's memory forever.
type ids struct {
	mu      sync.Mutex
	ctx     *wl.Context
	free    []uint32
	dying   map[uint32]bool // ours, destroyed, awaiting delete_id
	reused  uint64
	counted uint64
}

func newIDs(ctx *wl.Context) *ids { return &ids{ctx: ctx, dying: map[uint32]bool{}} }

// register gives p an id (a freed one when there is one) and enters it in
// the context's object map.
func (s *ids) register(p wl.Proxy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counted++
	if n := len(s.free); n > 0 {
		id := s.free[n-1]
		s.free = s.free[:n-1]
		s.reused++
		s.ctx.RegisterMapped(p, id)
		return
	}
	s.ctx.Register(p)
}

// retire marks p destroyed (or, for a wl_callback, done): the parent
// sends no more events for it after wl_display.delete_id, when it leaves
// the object map and its id is reused. Events that were already on their
// way still reach it.
func (s *ids) retire(p wl.Proxy) {
	s.mu.Lock()
	s.dying[uint32(p.Id())] = true
	s.mu.Unlock()
}

// deleted handles wl_display.delete_id.
func (s *ids) deleted(id uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dying[id] {
		delete(s.dying, id)
		s.ctx.Unregister(wl.ProxyId(id))
		s.free = append(s.free, id)
	}
}
