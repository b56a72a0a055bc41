//go:build race

package reliability_test

// raceBuild says the tests, and so the minicloud they build, run with the
// race detector.
const raceBuild = true

// rssBound is the most resident memory minicloud may use under the load
// tests. The race detector keeps shadow memory for every byte the
// program touches, several times the program's own.
const rssBound = 1 << 30
