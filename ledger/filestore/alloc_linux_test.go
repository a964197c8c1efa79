package filestore_test

import (
	"os"
	"syscall"
)

// allocatedBytes returns the bytes of disk a file takes (its blocks), when
// the operating system says.
func allocatedBytes(fi os.FileInfo) (int64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Blocks * 512, true
}
