package main

import (
	"fmt"

	"github.com/minicomp/minicomp/backend"
)

// transformFor reads --transform (unset: normal) for the backend named,
// refusing a turned one for a backend that does not turn its outputs (the
// nested ones: their window is the screen).
func (f runFlags) transformFor(backendName string) (backend.Transform, error) {
	if f.transform == "" {
		return backend.TransformNormal, nil
	}
	tr, err := backend.ParseTransform(f.transform)
	if err != nil {
		return 0, fmt.Errorf("--transform: %w", err)
	}
	if tr != backend.TransformNormal && backendName != "kms" && backendName != "headless" {
		return 0, fmt.Errorf("--transform %s: the %s backend does not turn its outputs (kms and headless do)", f.transform, backendName)
	}
	return tr, nil
}
