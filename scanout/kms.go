package scanout

import (
	"errors"
	"fmt"
	"sort"

	"github.com/minicomp/minicomp/internal/drm"
)

// Mode is a display mode. The modes of a Pipeline carry the timings KMS
// needs; a Mode built by a caller names one of them (see
// Pipeline.FindMode) and is otherwise only a size and rate (headless and
// window outputs).
type Mode struct {
	Width, Height  int
	RefreshMilliHz int
	Name           string
	Preferred      bool
	info           drm.ModeInfo
}

func (m Mode) String() string {
	return fmt.Sprintf("%dx%d@%d.%03dHz", m.Width, m.Height, m.RefreshMilliHz/1000, m.RefreshMilliHz%1000)
}

func modeFrom(mi drm.ModeInfo) Mode {
	return Mode{Width: int(mi.HDisplay), Height: int(mi.VDisplay), RefreshMilliHz: mi.RefreshMilliHz(),
		Name: mi.Name(), Preferred: mi.Type&drm.ModeTypePreferred != 0, info: mi}
}

// PlaneInfo describes a plane: its type and what it can scan out.
type PlaneInfo struct {
	ID            uint32
	Type          string // "primary", "overlay", "cursor"
	PossibleCRTCs uint32
	// Formats maps each format to its modifiers from IN_FORMATS (LINEAR
	// only when the driver has no IN_FORMATS).
	Formats map[Format][]uint64
}

// Supports reports whether the plane lists format with modifier.
func (p *PlaneInfo) Supports(f Format, modifier uint64) bool {
	mods, ok := p.Formats[f]
	if !ok {
		return false
	}
	for _, m := range mods {
		if m == modifier {
			return true
		}
	}
	return false
}

// Pipeline is one way to light a screen: connector → CRTC → primary plane,
// with the connector's modes.
type Pipeline struct {
	Connector     uint32
	ConnectorName string // e.g. "Virtual-1", "HDMI-A-1"
	CRTC          uint32
	crtcIndex     int
	Primary       PlaneInfo
	Modes         []Mode // preferred first
	Writeback     bool   // the connector is a writeback connector
}

var connectorTypeNames = map[uint32]string{
	0: "Unknown", 1: "VGA", 2: "DVI-I", 3: "DVI-D", 4: "DVI-A", 5: "Composite", 6: "SVIDEO",
	7: "LVDS", 8: "Component", 9: "DIN", 10: "DP", 11: "HDMI-A", 12: "HDMI-B", 13: "TV",
	14: "eDP", 15: "Virtual", 16: "DSI", 17: "DPI", 18: "Writeback", 19: "SPI", 20: "USB",
}

// ErrNotKMS means the device has no mode-setting resources (a render-only
// GPU like v3d, or vgem).
var ErrNotKMS = errors.New("device has no KMS resources")

// EnableKMS turns on the client capabilities the Presenter needs
// (universal planes, atomic) and fails with a clear error when the driver has
// no atomic modesetting.
func (d *Device) EnableKMS() error {
	if err := d.dev.SetClientCap(drm.ClientCapUniversalPlanes, 1); err != nil {
		return fmt.Errorf("%s: universal planes: %w", d, err)
	}
	if err := d.dev.SetClientCap(drm.ClientCapAtomic, 1); err != nil {
		return fmt.Errorf("%s has no atomic modesetting: %w", d, err)
	}
	return nil
}

// IsKMS reports whether the device has CRTCs and connectors.
func (d *Device) IsKMS() bool {
	r, err := d.dev.Resources()
	return err == nil && len(r.CRTCs) > 0 && len(r.Connectors) > 0
}

// Planes describes every plane of the device (call EnableKMS first).
func (d *Device) Planes() ([]PlaneInfo, error) {
	ids, err := d.dev.PlaneIDs()
	if err != nil {
		return nil, err
	}
	var out []PlaneInfo
	for _, id := range ids {
		pi, err := d.planeInfo(id)
		if err != nil {
			return nil, err
		}
		out = append(out, pi)
	}
	return out, nil
}

func (d *Device) planeInfo(id uint32) (PlaneInfo, error) {
	p, err := d.dev.Plane(id)
	if err != nil {
		return PlaneInfo{}, err
	}
	props, err := d.dev.Props(id, drm.ObjectPlane)
	if err != nil {
		return PlaneInfo{}, err
	}
	pi := PlaneInfo{ID: id, PossibleCRTCs: p.PossibleCRTCs, Formats: map[Format][]uint64{}}
	switch props.Values["type"] {
	case drm.PlanePrimary:
		pi.Type = "primary"
	case drm.PlaneCursor:
		pi.Type = "cursor"
	default:
		pi.Type = "overlay"
	}
	if blobID := props.Values["IN_FORMATS"]; blobID != 0 {
		blob, err := d.dev.Blob(uint32(blobID))
		if err != nil {
			return PlaneInfo{}, err
		}
		fm, err := drm.ParseInFormats(blob)
		if err != nil {
			return PlaneInfo{}, fmt.Errorf("%s plane %d: %w", d, id, err)
		}
		for f, mods := range fm {
			pi.Formats[Format(f)] = mods
		}
	} else {
		for _, f := range p.Formats {
			pi.Formats[Format(f)] = []uint64{ModLinear}
		}
	}
	return pi, nil
}

// Pipelines lists the connected connectors, each with a CRTC (distinct) and
// a primary plane that can drive it. Writeback connectors are left out
// unless withWriteback is set. Call EnableKMS first.
func (d *Device) Pipelines(withWriteback bool) ([]Pipeline, error) {
	res, err := d.dev.Resources()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", d, ErrNotKMS, err)
	}
	if len(res.CRTCs) == 0 || len(res.Connectors) == 0 {
		return nil, fmt.Errorf("%s: %w", d, ErrNotKMS)
	}
	planes, err := d.Planes()
	if err != nil {
		return nil, err
	}
	usedCRTC := map[int]bool{}
	usedPlane := map[uint32]bool{}
	var out []Pipeline
	for _, cid := range res.Connectors {
		c, err := d.dev.Connector(cid)
		if err != nil {
			return nil, err
		}
		wb := c.Type == drm.ConnectorWriteback
		if (wb && !withWriteback) || (!wb && (c.Connection != drm.Connected || len(c.Modes) == 0)) {
			continue
		}
		var possible uint32
		for _, eid := range c.Encoders {
			if e, err := d.dev.Encoder(eid); err == nil {
				possible |= e.PossibleCRTCs
			}
		}
		pl := Pipeline{Connector: cid, Writeback: wb,
			ConnectorName: fmt.Sprintf("%s-%d", connectorTypeNames[c.Type], c.TypeID)}
		for i := range res.CRTCs {
			if possible&(1<<i) == 0 || (usedCRTC[i] && !wb) {
				continue
			}
			for _, p := range planes {
				if p.Type == "primary" && p.PossibleCRTCs&(1<<i) != 0 && (wb || !usedPlane[p.ID]) {
					pl.CRTC, pl.crtcIndex, pl.Primary = res.CRTCs[i], i, p
					break
				}
			}
			if pl.CRTC != 0 {
				break
			}
		}
		if pl.CRTC == 0 {
			continue
		}
		if !wb {
			usedCRTC[pl.crtcIndex] = true
			usedPlane[pl.Primary.ID] = true
		}
		for _, m := range c.Modes {
			pl.Modes = append(pl.Modes, modeFrom(m))
		}
		sort.SliceStable(pl.Modes, func(i, j int) bool { return pl.Modes[i].Preferred && !pl.Modes[j].Preferred })
		out = append(out, pl)
	}
	return out, nil
}

// FindMode returns the connector's mode that matches want: the preferred
// one when want is zero, else the first of Modes with want's size, refresh
// (when not zero: exactly, else within half a hertz) and name (when not
// empty). A caller-built Mode names a mode; only the connector's own
// carry the timings KMS needs.
func (p *Pipeline) FindMode(want Mode) (Mode, error) {
	if len(p.Modes) == 0 {
		return Mode{}, fmt.Errorf("connector %s has no modes", p.ConnectorName)
	}
	if want.Width == 0 && want.Height == 0 {
		return p.PreferredMode(), nil
	}
	// An exact refresh first, then one within half a hertz (60 asks for
	// a 60.004 Hz mode).
	for _, slack := range []int{0, 500} {
		for _, m := range p.Modes {
			if m.Width == want.Width && m.Height == want.Height && (want.Name == "" || m.Name == want.Name) &&
				(want.RefreshMilliHz == 0 || max(m.RefreshMilliHz-want.RefreshMilliHz, want.RefreshMilliHz-m.RefreshMilliHz) <= slack) {
				return m, nil
			}
		}
	}
	offered := make([]string, len(p.Modes))
	for i, m := range p.Modes {
		offered[i] = m.String()
	}
	name := want.String()
	if want.RefreshMilliHz == 0 {
		name = fmt.Sprintf("%dx%d", want.Width, want.Height)
	}
	return Mode{}, fmt.Errorf("%w: connector %s does not offer %s (it offers %v)", ErrMode, p.ConnectorName, name, offered)
}

// ErrMode means a requested mode is not one the connector offers.
var ErrMode = errors.New("no such mode")

// PreferredMode returns the connector's preferred mode (or its first).
func (p *Pipeline) PreferredMode() Mode {
	if len(p.Modes) == 0 {
		return Mode{}
	}
	return p.Modes[0]
}
