package backend

// OutputToggler is implemented by outputs that can be turned off and on
// while the compositor runs (headless: virtual outputs, so a remote
// session can get a second screen). An output that is off is still one of
// the backend's Outputs, keeps its mode, and is not presented on.
type OutputToggler interface {
	// Enabled reports whether the output is on.
	Enabled() bool
	// SetEnabled turns the output on (its render targets are made again)
	// or off (its targets are released: the caller has stopped
	// presenting and waits for no frame of it).
	SetEnabled(on bool) error
}
