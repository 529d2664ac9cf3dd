//go:build !race

package gles

const raceEnabled = false
