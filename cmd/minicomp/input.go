package main

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/minicomp/minicomp/backend/kms"
)

// inputFlags are the seated input settings (libinput) of the KMS backend.
type inputFlags struct {
	off                      bool
	tap, natural, accelSpeed string
	accelProfile             string
	repeatRate, repeatDelay  int
	// opener is the session's (set by openBackend; nil: open directly).
	opener kms.DeviceOpener
	// seat is the session's seat name (set by openBackend; "": seat0):
	// input devices udev assigns to another seat are not used.
	seat string
}

func (fl *inputFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&fl.off, "no-input", false, "KMS: read no keyboards, mice or touchscreens (libinput)")
	fs.StringVar(&fl.tap, "tap", "", "KMS: tap-to-click on touchpads, on or off (default: the device's)")
	fs.StringVar(&fl.natural, "natural-scroll", "", "KMS: natural scrolling, on or off (default: the device's)")
	fs.StringVar(&fl.accelProfile, "accel-profile", "", "KMS: pointer acceleration profile, flat or adaptive (default: the device's)")
	fs.StringVar(&fl.accelSpeed, "accel-speed", "", "KMS: pointer acceleration speed, -1 to 1 (default: the device's)")
	fs.IntVar(&fl.repeatRate, "repeat-rate", 25, "key repeat clients do, keys per second (0: none)")
	fs.IntVar(&fl.repeatDelay, "repeat-delay", 600, "key repeat delay, ms")
}

// options turns the flags into the backend's input settings (nil with
// --no-input).
func (fl inputFlags) options() (*kms.InputOptions, error) {
	if fl.off {
		return nil, nil
	}
	o := &kms.InputOptions{AccelProfile: fl.accelProfile, Opener: fl.opener, Seat: fl.seat}
	onOff := func(name, v string) (*bool, error) {
		switch v {
		case "":
			return nil, nil
		case "on":
			b := true
			return &b, nil
		case "off":
			b := false
			return &b, nil
		}
		return nil, fmt.Errorf("--%s %q: want on or off", name, v)
	}
	var err error
	if o.Tap, err = onOff("tap", fl.tap); err != nil {
		return nil, err
	}
	if o.NaturalScroll, err = onOff("natural-scroll", fl.natural); err != nil {
		return nil, err
	}
	if fl.accelProfile != "" && fl.accelProfile != "flat" && fl.accelProfile != "adaptive" {
		return nil, fmt.Errorf("--accel-profile %q: want flat or adaptive", fl.accelProfile)
	}
	if fl.accelSpeed != "" {
		s, err := strconv.ParseFloat(fl.accelSpeed, 64)
		if err != nil || s < -1 || s > 1 {
			return nil, fmt.Errorf("--accel-speed %q: want a number from -1 to 1", fl.accelSpeed)
		}
		o.AccelSpeed = &s
	}
	return o, nil
}

// repeat is the server's RepeatRate and RepeatDelay for the flags.
func (fl inputFlags) repeat() (rate, delay int, err error) {
	if fl.repeatRate < 0 || fl.repeatRate > 1000 || fl.repeatDelay < 1 || fl.repeatDelay > 10000 {
		return 0, 0, fmt.Errorf("--repeat-rate %d --repeat-delay %d: want 0..1000 keys/s after 1..10000 ms", fl.repeatRate, fl.repeatDelay)
	}
	if fl.repeatRate == 0 {
		return -1, fl.repeatDelay, nil
	}
	return fl.repeatRate, fl.repeatDelay, nil
}

// deviceOpener is the session as the input devices' opener (nil without
// a session: libinput opens them directly).
func (s *seated) deviceOpener() kms.DeviceOpener {
	if s == nil {
		return nil
	}
	return s.sess
}

// seatName is the session's seat ("" without a session).
func (s *seated) seatName() string {
	if s == nil || s.sess == nil {
		return ""
	}
	return s.sess.Name()
}
