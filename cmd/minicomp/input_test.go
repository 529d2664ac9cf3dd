package main

import (
	"flag"
	"io"
	"testing"
)

func TestInputFlags(t *testing.T) {
	parse := func(args ...string) (inputFlags, error) {
		var fl inputFlags
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fl.register(fs)
		return fl, fs.Parse(args)
	}
	fl, _ := parse("--tap=on", "--natural-scroll=off", "--accel-profile=flat", "--accel-speed=-0.5")
	o, err := fl.options()
	if err != nil || o == nil || !*o.Tap || *o.NaturalScroll || o.AccelProfile != "flat" || *o.AccelSpeed != -0.5 {
		t.Fatalf("%+v %v", o, err)
	}
	fl, _ = parse()
	if o, err := fl.options(); err != nil || o == nil || o.Tap != nil || o.AccelSpeed != nil {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	fl, _ = parse()
	fl.seat = "seat1" // the session's seat, for libinput's devices
	if o, err := fl.options(); err != nil || o == nil || o.Seat != "seat1" {
		t.Fatalf("session on seat1: %+v %v", o, err)
	}
	fl, _ = parse("--no-input")
	if o, err := fl.options(); err != nil || o != nil {
		t.Fatalf("--no-input: %+v %v", o, err)
	}
	fl, _ = parse("--repeat-rate=0", "--repeat-delay=300")
	if rate, delay, err := fl.repeat(); err != nil || rate != -1 || delay != 300 {
		t.Errorf("repeat off: %d %d %v", rate, delay, err)
	}
	fl, _ = parse()
	if rate, delay, err := fl.repeat(); err != nil || rate != 25 || delay != 600 {
		t.Errorf("repeat default: %d %d %v", rate, delay, err)
	}
	fl, _ = parse("--repeat-delay=0")
	if _, _, err := fl.repeat(); err == nil {
		t.Error("--repeat-delay=0 accepted")
	}
	for _, bad := range [][]string{{"--tap=yes"}, {"--accel-speed=2"}, {"--accel-speed=x"}, {"--accel-profile=fast"}, {"--natural-scroll=1"}} {
		fl, _ = parse(bad...)
		if _, err := fl.options(); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
