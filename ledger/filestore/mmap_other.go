//go:build !linux

package filestore

// Segments are read with pread on platforms other than Linux: osFile does
// not implement mapper there, so nothing is ever mapped.

func unmap(b []byte) error { return nil }
