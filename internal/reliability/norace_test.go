//go:build !race

package reliability_test

// raceBuild says the tests, and so the minicloud they build, run with the
// race detector.
const raceBuild = false

// rssBound is the most resident memory minicloud may use under the load
// tests: a few hundred instances' records and fifty clients' connections
// take a small part of it.
const rssBound = 256 << 20
