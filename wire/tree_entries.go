package wire

import "encoding/binary"

// The encoding of TreeEntries (tree.go has the messages of a tree session).

// hasRecords reports whether some entry has a Record (treeEntriesRecords).
func (m *TreeEntries) hasRecords() bool {
	for i := range m.Entries {
		if m.Entries[i].Record != ([DigestSize]byte{}) {
			return true
		}
	}
	return false
}

func (m *TreeEntries) Len() int {
	n := sizeU8 + sizeU16
	recs := m.hasRecords()
	for i := range m.Entries {
		n += m.Entries[i].len()
		if recs {
			n += sizeU8
			if m.Entries[i].Record != ([DigestSize]byte{}) {
				n += DigestSize
			}
		}
	}
	return n
}

func (m *TreeEntries) Append(b []byte) []byte {
	flags := byte(0)
	if m.Last {
		flags |= treeEntriesLast
	}
	recs := m.hasRecords()
	if recs {
		flags |= treeEntriesRecords
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Entries)))
	for i := range m.Entries {
		e := &m.Entries[i]
		b = e.append(b)
		switch {
		case !recs:
		case e.Record == [DigestSize]byte{}:
			b = append(b, 0)
		default:
			b = append(append(b, 1), e.Record[:]...)
		}
	}
	return b
}

// Validate checks at most MaxTreeBatch entries, each valid.
func (m *TreeEntries) Validate() error {
	if len(m.Entries) > MaxTreeBatch {
		return errTooLarge(TypeTreeEntries, "entries", uint64(len(m.Entries)), MaxTreeBatch)
	}
	for i := range m.Entries {
		if err := m.Entries[i].validate(TypeTreeEntries); err != nil {
			return err
		}
	}
	return nil
}

func parseTreeEntries(b []byte) (*TreeEntries, int, error) {
	const fixed = sizeU8 + sizeU16
	if len(b) < fixed {
		return nil, 0, errTruncated(TypeTreeEntries, fixed, len(b))
	}
	if b[0]&^(treeEntriesLast|treeEntriesRecords) != 0 {
		return nil, 0, errInvalid(TypeTreeEntries, "unknown flags %#x", b[0])
	}
	recs := b[0]&treeEntriesRecords != 0
	count := int(binary.BigEndian.Uint16(b[1:]))
	// Bounded before allocating: the count, and the bytes it needs.
	if count > MaxTreeBatch {
		return nil, 0, errTooLarge(TypeTreeEntries, "entries", uint64(count), MaxTreeBatch)
	}
	least := treeEntryFixedLen + 2*strLenSize
	if recs {
		least += sizeU8
	}
	if need := fixed + count*least; len(b) < need {
		return nil, 0, errTruncated(TypeTreeEntries, need, len(b))
	}
	m := &TreeEntries{Last: b[0]&treeEntriesLast != 0}
	if count > 0 {
		m.Entries = make([]TreeEntry, count)
	}
	o := fixed
	for i := range m.Entries {
		e, n, err := parseTreeEntry(TypeTreeEntries, b[o:])
		if err != nil {
			return nil, 0, err
		}
		o += n
		if recs {
			if n, err = parseTreeRecord(b[o:], &e); err != nil {
				return nil, 0, err
			}
			o += n
		}
		m.Entries[i] = e
	}
	if recs && !m.hasRecords() {
		return nil, 0, errInvalid(TypeTreeEntries, "records flag set, but no entry has a record")
	}
	return m, o, nil
}

// parseTreeRecord reads the record that follows entry e in a TreeEntries
// with treeEntriesRecords: a presence byte, then the digest if it is 1.
func parseTreeRecord(b []byte, e *TreeEntry) (int, error) {
	if len(b) < sizeU8 {
		return 0, errTruncated(TypeTreeEntries, sizeU8, len(b))
	}
	switch b[0] {
	case 0:
		return sizeU8, nil
	case 1:
	default:
		return 0, errInvalid(TypeTreeEntries, "record presence %d of %q is not 0 or 1", b[0], e.Name)
	}
	if len(b) < treeRecordMaxLen {
		return 0, errTruncated(TypeTreeEntries, treeRecordMaxLen, len(b))
	}
	copy(e.Record[:], b[sizeU8:treeRecordMaxLen])
	if e.Record == ([DigestSize]byte{}) {
		return 0, errInvalid(TypeTreeEntries, "zero record digest for %q", e.Name)
	}
	return treeRecordMaxLen, e.validate(TypeTreeEntries)
}
