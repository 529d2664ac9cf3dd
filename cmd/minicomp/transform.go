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
