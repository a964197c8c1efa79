package filestore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Framing of both format versions; doc.go ("Frames") describes the bytes.
const (
	frameHeaderSize  = 8    // u32 body length L, u32 CRC C
	frameTrailerSize = 8    // version 2: L and C again
	frameChunkSize   = 4096 // version 2: body bytes covered by one chunk CRC

	// sectorSize is the unit in which a crash may lose bytes of a write
	// that was not synced: such a sector reads as zeros (doc.go, "Recovery").
	sectorSize = 512
)

// frameChunks is K, the number of chunk CRCs of a version-2 frame with a
// body of n bytes.
func frameChunks(n int) int { return (n + frameChunkSize - 1) / frameChunkSize }

// frameSize is the number of bytes a frame with a body of n bytes takes in
// a segment of format version v.
func frameSize(v uint32, n int) int {
	if v == formatVersion1 {
		return frameHeaderSize + n
	}
	return frameHeaderSize + n + 4*frameChunks(n) + frameTrailerSize
}

// frameCRC is the checksum of a version-1 frame: CRC-32C over the four
// length bytes followed by the body, so that a damaged length is caught too.
func frameCRC(lenBytes, body []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, lenBytes), castagnoli, body)
}

// tableCRC is C of a version-2 frame: CRC-32C over the four length bytes
// followed by the chunk CRC table. The table covers the body, C covers the
// table, and the header and the trailer both hold C: every byte is covered,
// and either end of the frame can vouch for the other.
func tableCRC(lenBytes, table []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, lenBytes), castagnoli, table)
}

// beginFrame reserves the frame header and body header on buf.
func beginFrame(buf []byte) []byte {
	return append(buf, make([]byte, frameHeaderSize+frameBodyHeaderSize)...)
}

// finishFrame fills in the headers of the version-2 frame that starts at
// start and whose body runs to the end of buf, and appends its chunk CRC
// table and trailer.
func finishFrame(buf []byte, start int, entries uint32, first uint64) []byte {
	le := binary.LittleEndian
	body := buf[start+frameHeaderSize:]
	body[0] = frameKindCommit
	body[1], body[2], body[3] = 0, 0, 0
	le.PutUint32(body[4:], entries)
	le.PutUint64(body[8:], first)
	n := len(body)
	le.PutUint32(buf[start:], uint32(n))
	table := len(buf)
	for i := 0; i < n; i += frameChunkSize {
		// body still points at the bytes even if the append moves buf.
		buf = le.AppendUint32(buf, crc32.Checksum(body[i:min(i+frameChunkSize, n)], castagnoli))
	}
	le.PutUint32(buf[start+4:], tableCRC(buf[start:start+4], buf[table:]))
	return append(buf, buf[start:start+frameHeaderSize]...)
}

// frameLen reads a frame header and returns the body length and CRC. ok is
// false when the declared length is outside what the format admits.
func frameLen(hdr []byte) (n int, sum uint32, ok bool) {
	l := binary.LittleEndian.Uint32(hdr)
	sum = binary.LittleEndian.Uint32(hdr[4:])
	if l < frameBodyHeaderSize || l > MaxFrameBytes {
		return int(l), sum, false
	}
	return int(l), sum, true
}

// checkFrame checks a whole frame of format version v — exactly
// frameSize(v, L) bytes, L read from its header — and returns its body, or
// why it is bad.
func checkFrame(v uint32, frame []byte) (body []byte, bad string) {
	le := binary.LittleEndian
	n := int(le.Uint32(frame))
	body = frame[frameHeaderSize : frameHeaderSize+n]
	if v == formatVersion1 {
		if frameCRC(frame[:4], body) != le.Uint32(frame[4:]) {
			return nil, "frame checksum mismatch"
		}
		return body, ""
	}
	table := frame[frameHeaderSize+n : len(frame)-frameTrailerSize]
	if string(frame[len(frame)-frameTrailerSize:]) != string(frame[:frameHeaderSize]) {
		return nil, "frame trailer disagrees with the frame header"
	}
	if tableCRC(frame[:4], table) != le.Uint32(frame[4:]) {
		return nil, "frame checksum mismatch (chunk checksum table)"
	}
	for i := 0; i*frameChunkSize < n; i++ {
		chunk := body[i*frameChunkSize : min((i+1)*frameChunkSize, n)]
		if crc32.Checksum(chunk, castagnoli) != le.Uint32(table[4*i:]) {
			return nil, fmt.Sprintf("frame checksum mismatch in body chunk %d (frame bytes %d..%d)",
				i, frameHeaderSize+i*frameChunkSize, frameHeaderSize+i*frameChunkSize+len(chunk))
		}
	}
	return body, ""
}

// frameAt reports whether b starts with a whole, valid commit frame of
// format version v.
func frameAt(v uint32, b []byte) bool {
	if len(b) < frameHeaderSize {
		return false
	}
	n, _, ok := frameLen(b)
	if !ok || frameSize(v, n) > len(b) {
		return false
	}
	fr := b[:frameSize(v, n)]
	if v != formatVersion1 && string(fr[len(fr)-frameTrailerSize:]) != string(fr[:frameHeaderSize]) {
		return false // cheap test first: most offsets fail it
	}
	body, bad := checkFrame(v, fr)
	return bad == "" && body[0] == frameKindCommit
}

// framePart is a byte range of a version-2 frame that has its own check.
type framePart struct {
	name     string
	from, to int // offsets in the frame
	damaged  bool
}

// completeFrameDamage decides whether the bad frame at the start of rest —
// the bytes from its file offset base to the end of the last segment, with
// no good frame after it — may be a write that a crash cut short (doc.go,
// "Recovery"). It returns "" when it may, or why the frame was written
// completely and damaged afterwards. Version-1 frames have no evidence
// either way: they may always be torn.
//
// A torn write loses the end of the frame, or 512-byte sectors that then
// read as zeros. So the frame counts as complete when its extent to the end
// of the file is vouched for — by the trailer (its C checks the chunk
// table), by the header (likewise), or by header and trailer agreeing —
// and as damaged when one of its parts fails its check although it touches
// no zeroed sector and a later part passes: damage that is neither a lost
// sector nor a cut-short end.
func completeFrameDamage(v uint32, rest []byte, base int64) string {
	if v == formatVersion1 || len(rest) < frameHeaderSize+frameTrailerSize {
		return ""
	}
	le := binary.LittleEndian
	total := len(rest)
	head, tail := rest[:frameHeaderSize], rest[total-frameTrailerSize:]
	fits := func(hdr []byte) bool {
		n, _, ok := frameLen(hdr)
		return ok && frameSize(v, n) == total
	}
	tableOK := func(hdr []byte) bool {
		n := int(le.Uint32(hdr))
		return tableCRC(hdr[:4], rest[frameHeaderSize+n:total-frameTrailerSize]) == le.Uint32(hdr[4:])
	}
	var want []byte // the header both ends should hold
	tableGood := true
	switch {
	case fits(tail) && tableOK(tail):
		want = tail
	case fits(head) && tableOK(head):
		want = head
	case fits(head) && string(head) == string(tail):
		want, tableGood = head, false
	default:
		return "" // nothing vouches for the frame's end: it may be cut short
	}
	n := int(le.Uint32(want))
	table := rest[frameHeaderSize+n : total-frameTrailerSize]
	parts := []framePart{{"header", 0, frameHeaderSize, string(head) != string(want)}}
	for i := 0; i*frameChunkSize < n; i++ {
		from, to := frameHeaderSize+i*frameChunkSize, frameHeaderSize+min((i+1)*frameChunkSize, n)
		bad := tableGood && crc32.Checksum(rest[from:to], castagnoli) != le.Uint32(table[4*i:])
		parts = append(parts, framePart{fmt.Sprintf("body chunk %d", i), from, to, bad})
	}
	parts = append(parts,
		framePart{"chunk checksum table", frameHeaderSize + n, total - frameTrailerSize, !tableGood},
		framePart{"trailer", total - frameTrailerSize, total, string(tail) != string(want)})
	for i, p := range parts {
		if !p.damaged || touchesZeroSector(rest, base, p.from, p.to) {
			continue
		}
		for _, q := range parts[i+1:] {
			if !q.damaged {
				return fmt.Sprintf("the frame is complete (header and trailer vouch for its %d bytes) but its %s (segment bytes %d..%d) is damaged while its %s is intact: damaged after it was written, not a torn write",
					total, p.name, base+int64(p.from), base+int64(p.to), q.name)
			}
		}
		return "" // the damage runs to the end of the file: a cut-short write
	}
	return "" // every damaged part touches a sector that reads as zeros
}

// touchesZeroSector reports whether the frame bytes rest[from:to] share a
// 512-byte sector of the file with bytes of the frame that all read zero:
// a sector whose write was lost. base is the file offset of rest[0].
func touchesZeroSector(rest []byte, base int64, from, to int) bool {
	for s := (base + int64(from)) / sectorSize * sectorSize; s < base+int64(to); s += sectorSize {
		lo, hi := max(s-base, 0), min(s+sectorSize-base, int64(len(rest)))
		zero := true
		for _, c := range rest[lo:hi] {
			if c != 0 {
				zero = false
				break
			}
		}
		if zero {
			return true
		}
	}
	return false
}

// countEvents walks bytes cut from a segment of format version v (frames
// from their start, the last perhaps incomplete or damaged) and counts the
// frames whose checks pass and the events whose bytes are all there and
// well framed, checksums or not.
func countEvents(v uint32, b []byte) (frames, events int) {
	le := binary.LittleEndian
	for off := 0; len(b)-off >= frameHeaderSize; {
		n := int(le.Uint32(b[off:]))
		if n < frameBodyHeaderSize || n > MaxFrameBytes {
			return frames, events
		}
		if frameAt(v, b[off:]) {
			frames++
		}
		body := b[off+frameHeaderSize : min(off+frameHeaderSize+n, len(b))]
		events += countBodyEvents(body)
		if frameSize(v, n) > len(b)-off {
			return frames, events
		}
		off += frameSize(v, n)
	}
	return frames, events
}

// countBodyEvents counts the events of a frame body (perhaps cut short)
// whose bytes are all present within their entry.
func countBodyEvents(body []byte) int {
	le := binary.LittleEndian
	if len(body) < frameBodyHeaderSize {
		return 0
	}
	count := 0
	p := frameBodyHeaderSize
	for range le.Uint32(body[4:]) {
		if len(body)-p < entryHeaderSize {
			return count
		}
		end := min(p+4+int(le.Uint32(body[p:])), len(body))
		sl := int(le.Uint16(body[p+4:]))
		q := p + 6 + sl
		if q+4 > end {
			return count
		}
		events := le.Uint32(body[q:])
		q += 4
		for range events {
			if q+eventFixedSize > end {
				return count
			}
			q += eventFixedSize
			for range 3 {
				if q+2 > end {
					return count
				}
				q += 2 + int(le.Uint16(body[q:]))
			}
			if q+4 > end {
				return count
			}
			q += 4 + int(le.Uint32(body[q:]))
			if q > end {
				return count
			}
			count++
		}
		p = end
	}
	return count
}
