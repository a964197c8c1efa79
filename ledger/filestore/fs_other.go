//go:build !linux

package filestore

import "os"

// datasync falls back to a full fsync where fdatasync is not available.
func datasync(f *os.File) error { return f.Sync() }

// lockFile is a no-op where flock is not wired up; the store then relies
// on the operator not to open one directory twice.
func lockFile(f *os.File) error { return nil }
