//go:build race

package pixman

const raceEnabled = true
