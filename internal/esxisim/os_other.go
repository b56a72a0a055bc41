//go:build !unix

package esxisim

import (
	"io/fs"
	"os"
)

// lockFile does nothing where there is no flock: processes are then not
// kept apart, only the goroutines of one process are.
//
// TODO: use LockFileEx on Windows; without it two standalone commands
// running at once can lose one's change to the inventory.
func lockFile(f *os.File) error { return nil }

// unlockFile does nothing where there is no flock.
func unlockFile(f *os.File) error { return nil }

// allocatedBytes returns a file's size: without the block count, a sparse
// file counts as if it were written in full.
func allocatedBytes(info fs.FileInfo) int64 { return info.Size() }
