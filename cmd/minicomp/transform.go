package main

import (
	"fmt"

	"github.com/minicomp/minicomp/backend"
)

// parseTransform reads --transform (unset: normal).
func (f runFlags) parseTransform() (backend.Transform, error) {
	if f.transform == "" {
		return backend.TransformNormal, nil
	}
	tr, err := backend.ParseTransform(f.transform)
	if err != nil {
		return 0, fmt.Errorf("--transform: %w", err)
	}
	return tr, nil
}

// checkTransform refuses a turned --transform for a backend that does not
// turn its outputs (the nested ones: their window is the screen).
func (f runFlags) checkTransform(backendName string) error {
	tr, err := f.parseTransform()
	if err != nil || tr == backend.TransformNormal || backendName == "kms" || backendName == "headless" {
		return err
	}
	return fmt.Errorf("--transform %s: the %s backend does not turn its outputs (kms and headless do)", f.transform, backendName)
}
