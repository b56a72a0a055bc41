//go:build !linux

package esxisim

import "os"

// copyData copies src into dst at offset at, skipping blocks of zeros so
// that dst stays sparse where src was.
func copyData(dst, src *os.File, at int64) error {
	return copyAll(dst, src, at)
}
