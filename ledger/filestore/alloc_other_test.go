//go:build !linux

package filestore_test

import "os"

// allocatedBytes: not known here.
func allocatedBytes(os.FileInfo) (int64, bool) { return 0, false }
