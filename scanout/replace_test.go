package scanout

import (
	"errors"
	"testing"
)

// otherMemfd is a second CPU-only strategy under another name.
type otherMemfd struct{ MemfdStrategy }

func (otherMemfd) Name() string { return "other" }

func (o otherMemfd) Allocate(w, h int, f Format) (*Buffer, error) {
	b, err := o.MemfdStrategy.Allocate(w, h, f)
	if b != nil {
		b.Origin = o.Name()
	}
	return b, err
}

// Replace tries the other strategies (not the one that made the refused
// buffer), keeps the first buffer accept takes, closes the old one and
// restarts its age; when none is accepted the old one stays and the
// error says why each was passed over.
func TestSwapchainReplace(t *testing.T) {
	a := &Allocator{Strategies: []Strategy{MemfdStrategy{}, otherMemfd{}}}
	sc, err := NewSwapchain(a, 2, 64, 32, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	old := sc.Buffers[0]
	sc.Next()
	sc.Next()
	refuse := errors.New("the display refused it")
	if _, tried, err := sc.Replace(old, func(*Buffer) error { return refuse }); !errors.Is(err, refuse) || len(tried) != 1 || tried[0].Name != "other" || sc.Buffers[0] != old {
		t.Fatalf("nothing accepted: err %v, tried %v, buffer kept %v", err, tried, sc.Buffers[0] == old)
	}
	var offered []string
	nb, _, err := sc.Replace(old, func(b *Buffer) error { offered = append(offered, b.Origin); return nil })
	if err != nil || nb == nil || sc.Buffers[0] != nb || nb.Origin != "other" || len(offered) != 1 {
		t.Fatalf("replace: %v %v, offered %v", nb, err, offered)
	}
	if !old.released {
		t.Error("the replaced buffer was not released")
	}
	if b, age, _ := sc.Next(); b != nb || age != 0 {
		t.Errorf("next %v age %d, want the new buffer at age 0", b, age)
	}
	// Strategy names the mix now, per slot, and one name again once a
	// single strategy made them all.
	if want := "other (1 of 2) + memfd (1 of 2)"; sc.Strategy != want {
		t.Errorf("strategy %q after a replace, want %q", sc.Strategy, want)
	}
	// The replacement's own strategy is the one skipped now.
	back, tried, err := sc.Replace(nb, func(*Buffer) error { return nil })
	if err != nil || back.Origin != "memfd" || len(tried) != 0 || sc.Strategy != "memfd" {
		t.Errorf("replacing the replacement: %v (tried %v) %v, strategy %q; want memfd again", back, tried, err, sc.Strategy)
	}
	if _, _, err := sc.Replace(old, func(*Buffer) error { return nil }); err == nil {
		t.Error("replacing a buffer not in the swapchain succeeded")
	}
}
