package boltdb

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's file begins with two meta pages (pages 0 and 1). Each names the
// page size, the root bucket, the free list, the high water mark (the
// number of pages the file holds) and a transaction ID, and ends with a
// 64-bit FNV-1a checksum of the fields before it. A commit rewrites the
// meta page of its transaction ID's parity, so a write torn by a crash
// damages at most one of them; bbolt then uses the other. bbolt exports no
// reader of these pages: riscd reads them itself, before bbolt maps the
// file, to refuse a file bbolt would fault on.
const (
	bboltMagic      uint32 = 0xED0CDAED
	bboltVersion           = 2
	boltPageHeader         = 16 // page id, flags, count, overflow
	boltMetaSize           = 64 // magic .. checksum
	boltMetaSumSize        = 56 // the fields the checksum covers
	boltMinPageSize        = 1 << 10
	boltMaxPageSize        = 1 << 24 // bbolt looks for page 1 up to 16 MiB
)

// boltMeta is one decoded meta page.
type boltMeta struct {
	pageSize uint32
	pgid     uint64 // high water mark: pages in use, from page 0
	txid     uint64
}

// boltFile is what the meta pages say about a file.
type boltFile struct {
	size    int64
	meta    boltMeta // the meta page bbolt uses: the valid one of higher txid
	damaged []string // meta pages that do not check, described
}

// readBoltFile reads the meta pages of the file at path. A file neither of
// whose meta pages is valid is not bbolt, or not one bbolt can open
// (ErrNotStore). One valid meta page is enough, as it is for bbolt; the
// other is described in damaged. A file shorter than its high water mark
// (truncated) is damaged (ErrDamaged): bbolt would read past its end.
func readBoltFile(path string) (*boltFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	bf := &boltFile{size: fi.Size()}
	m0, magic, why0 := readBoltMeta(f, 0)
	// Page 1 lies one page further; if page 0 cannot say how far, try
	// every size bbolt could have used, as bbolt does.
	var m1 *boltMeta
	var why1 string
	if m0 != nil {
		m1, _, why1 = readBoltMeta(f, int64(m0.pageSize))
	} else {
		why1 = "not found at any page size"
		for ps := int64(boltMinPageSize); ps <= boltMaxPageSize && ps < bf.size; ps <<= 1 {
			m, mag, why := readBoltMeta(f, ps)
			if mag {
				magic, why1 = true, why
			}
			if m != nil && int64(m.pageSize) == ps {
				m1, why1 = m, ""
				break
			}
		}
	}
	switch {
	case m0 == nil && m1 == nil && !magic:
		return nil, notStore(path, "not a bbolt database", nil)
	case m0 == nil && m1 == nil:
		return nil, notStore(path, "not a bbolt database, or a damaged one: neither meta page is valid (page 0: "+why0+"; page 1: "+why1+")", nil)
	case m0 == nil:
		bf.meta = *m1
		bf.damaged = append(bf.damaged, "meta page 0 is damaged ("+why0+")")
	case m1 == nil:
		bf.meta = *m0
		bf.damaged = append(bf.damaged, "meta page 1 is damaged ("+why1+")")
	case m0.txid > m1.txid:
		bf.meta = *m0
	default:
		bf.meta = *m1
	}
	if want := int64(bf.meta.pgid) * int64(bf.meta.pageSize); bf.size < want {
		return nil, damaged(path, fmt.Sprintf("the file is %d bytes, but its meta page counts %d pages of %d bytes (%d bytes): it was truncated; restore it from a backup",
			bf.size, bf.meta.pgid, bf.meta.pageSize, want))
	}
	return bf, nil
}

// readBoltMeta decodes the meta page at off. It reports whether the page
// carries bbolt's magic number and, when the page is not valid (bbolt's
// checks: magic, version, checksum), why.
func readBoltMeta(r io.ReaderAt, off int64) (*boltMeta, bool, string) {
	var b [boltPageHeader + boltMetaSize]byte
	if _, err := r.ReadAt(b[:], off); err != nil {
		return nil, false, "the file ends before it"
	}
	// Meta pages are written in the writer's byte order; the checksum
	// covers the fields as they are in memory.
	order := binary.ByteOrder(binary.LittleEndian)
	m := b[boltPageHeader:]
	switch bboltMagic {
	case binary.LittleEndian.Uint32(m):
	case binary.BigEndian.Uint32(m):
		order = binary.BigEndian
	default:
		return nil, false, "no bbolt magic number"
	}
	h := fnv.New64a()
	h.Write(m[:boltMetaSumSize])
	meta := &boltMeta{pageSize: order.Uint32(m[8:]), pgid: order.Uint64(m[40:]), txid: order.Uint64(m[48:])}
	switch {
	case order.Uint32(m[4:]) != bboltVersion:
		return nil, true, fmt.Sprintf("bbolt format version %d, not %d", order.Uint32(m[4:]), bboltVersion)
	case h.Sum64() != order.Uint64(m[56:]):
		return nil, true, "checksum mismatch"
	case meta.pageSize < boltMinPageSize || meta.pageSize > boltMaxPageSize || meta.pageSize&(meta.pageSize-1) != 0:
		return nil, true, fmt.Sprintf("page size %d", meta.pageSize)
	case meta.pgid < 2:
		return nil, true, fmt.Sprintf("high water mark %d", meta.pgid)
	}
	return meta, true, ""
}

func damaged(path, reason string) error {
	return &fileError{msg: path + " is damaged: " + reason, kind: ErrDamaged}
}
