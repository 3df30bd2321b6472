//go:build race

package engine

// raceDetector: the race detector's instrumentation allocates on its own,
// so allocation counts are not checked under it.
const raceDetector = true
