//go:build linux

package esxisim

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// Whence values of lseek(2) that find the written parts of a sparse file.
const (
	seekData = 3
	seekHole = 4
)

// copyData copies the written parts of src into dst at offset at, leaving
// holes as holes, so cloning a large sparse disk is quick and takes no
// space.
func copyData(dst, src *os.File, at int64) error {
	var pos int64
	for {
		start, err := src.Seek(pos, seekData)
		if errors.Is(err, syscall.ENXIO) {
			return nil // no data after pos
		}
		if err != nil {
			return copyAll(dst, src, at)
		}
		end, err := src.Seek(start, seekHole)
		if err != nil {
			return err
		}
		w := io.NewOffsetWriter(dst, at+start)
		if _, err := io.Copy(w, io.NewSectionReader(src, start, end-start)); err != nil {
			return err
		}
		pos = end
	}
}
