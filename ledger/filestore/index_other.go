//go:build !linux

package filestore

// mapFile never maps: Open reads index files.
func mapFile(File, int64) ([]byte, func(), bool) { return nil, nil, false }

// makeLarge returns a zeroed slice of n integers.
func makeLarge[T uint32 | uint64](n int) []T { return make([]T, n) }
