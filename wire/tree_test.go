package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// treeSamples are valid messages of tree sessions; samples includes them,
// so the round-trip, truncation, trailing-byte and fuzz tests cover them.
func treeSamples() []Message {
	full := TreeEntry{Kind: 5, Mode: 1<<32 - 1, Uid: 1<<32 - 1, Gid: 7, Size: 1<<63 - 1, ModTime: -1 << 63,
		Nlink: 1<<64 - 1, Dev: 3, Ino: 1<<64 - 1, Rdev: 9, Name: strings.Repeat("n", MaxNameLen), Link: strings.Repeat("l", MaxPathLen)}
	many := make([]TreeEntry, MaxTreeBatch)
	for i := range many {
		many[i] = TreeEntry{Kind: 1, Name: "f\nx\xff", Size: int64(i)}
	}
	withRecords := make([]TreeEntry, MaxTreeBatch)
	for i := range withRecords {
		withRecords[i] = full
		withRecords[i].Kind, withRecords[i].Link = 1, ""
		withRecords[i].Record = [DigestSize]byte{0: byte(i), 31: 0xff}
	}
	return []Message{
		&TreeReq{Op: TreeList, Path: "."},
		&TreeReq{Op: TreeList, Flags: TreeListRecords, Path: "a/b"},
		&TreeReq{Op: TreeFlush},
		&TreeReq{Op: TreeMeta, Flags: TreeMetaMode | TreeMetaTime | TreeMetaOwner, Mode: 0o4755, Uid: 1<<32 - 1, Gid: 3,
			ModTime: -1, Path: "a/b"},
		&TreeReq{Op: TreeFile, Size: 1<<63 - 1, ModTime: 1 << 62, Mode: 0o100644, Path: strings.Repeat("p", MaxPathLen),
			Arg: strings.Repeat("é", MaxPathLen/2)},
		&TreeReq{Op: TreeAttach, SessionID: sessionID(4), Streams: []uint16{1, 2, 3}},
		&TreeReq{Op: TreeMknod, Mode: 1<<26 | 1<<21 | 0o620, Size: 1<<8 | 3, Path: "dev/null"},
		&TreeReq{Op: TreeFile, Streams: make([]uint16, MaxWorkers), Path: "f"},
		&TreeReply{},
		&TreeReply{Code: CodeDenied, Message: strings.Repeat("m", MaxErrorLen), Entry: full},
		&TreeEntries{},
		&TreeEntries{Last: true, Entries: []TreeEntry{full, {Kind: 2, Name: "d"}}},
		&TreeEntries{Entries: many},
		// CapTreeRecords: a record on some files, not on others
		&TreeEntries{Last: true, Entries: []TreeEntry{{Kind: 2, Name: "a"}, {Kind: 1, Name: "b", Size: 1 << 30, Record: [DigestSize]byte{7: 1}},
			{Kind: 1, Name: "c"}}},
		&TreeEntries{Entries: withRecords},
	}
}

func TestTreeInvalid(t *testing.T) {
	for i, tc := range []struct {
		m    Message
		want error
	}{
		{&TreeReq{}, ErrInvalid},
		{&TreeReq{Op: TreeMknod + 1}, ErrInvalid},
		{&TreeReq{Op: TreeMeta, Flags: 16}, ErrInvalid},
		{&TreeReq{Op: TreeMeta, Flags: TreeListRecords}, ErrInvalid},
		{&TreeReq{Op: TreeFile, Size: -1}, ErrInvalid},
		{&TreeReq{Op: TreeFile, Streams: make([]uint16, MaxWorkers+1)}, ErrTooLarge},
		{&TreeReply{Entry: TreeEntry{Kind: 6}}, ErrInvalid},
		{&TreeReply{Entry: TreeEntry{Name: strings.Repeat("n", MaxNameLen+1)}}, ErrTooLarge},
		{&TreeEntries{Entries: make([]TreeEntry, MaxTreeBatch+1)}, ErrTooLarge},
		{&TreeEntries{Entries: []TreeEntry{{Kind: 2, Name: "d", Record: [DigestSize]byte{1}}}}, ErrInvalid},
		{&TreeEntries{Entries: []TreeEntry{{Kind: 3, Name: "l", Record: [DigestSize]byte{1}}}}, ErrInvalid},
		{&TreeReply{Entry: TreeEntry{Kind: 1, Record: [DigestSize]byte{1}}}, ErrInvalid},
	} {
		if err := tc.m.(validator).Validate(); !errors.Is(err, tc.want) {
			t.Errorf("%d: Validate = %v, want %v", i, err, tc.want)
		}
	}
	// A count beyond the bytes that follow is refused before allocating.
	if _, err := Decode(TypeTreeEntries, []byte{0, 0, MaxTreeBatch}); !errors.Is(err, ErrTruncated) {
		t.Errorf("short batch: %v", err)
	}
	if _, err := Decode(TypeTreeEntries, []byte{0, 0xff, 0xff}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge count: %v", err)
	}
}

// TestTreeRecordsHostile: a listing's records are refused when they do not
// follow the format (a presence byte other than 0 or 1, a zero digest, the
// flag with no record, a record cut short) or sit on an entry that is not
// a regular file; unknown flag bits are refused.
func TestTreeRecordsHostile(t *testing.T) {
	file := TreeEntry{Kind: 1, Name: "f"}
	dir := TreeEntry{Kind: 2, Name: "d"}
	entries := func(flags byte, parts ...[]byte) []byte {
		b := []byte{flags, 0, byte(len(parts))}
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	digest := append([]byte{1}, bytes.Repeat([]byte{0xab}, DigestSize)...)
	rec := func(e TreeEntry, r []byte) []byte { return append(e.append(nil), r...) }
	for i, tc := range []struct {
		b    []byte
		want error
		msg  string
	}{
		{entries(treeEntriesRecords, rec(file, digest)), nil, ""},
		{entries(treeEntriesRecords, rec(dir, digest)), ErrInvalid, "only regular files have records"},
		{entries(treeEntriesRecords, rec(file, []byte{2})), ErrInvalid, "record presence 2"},
		{entries(treeEntriesRecords, rec(file, append([]byte{1}, make([]byte, DigestSize)...))), ErrInvalid, "zero record digest"},
		{entries(treeEntriesRecords, rec(file, []byte{0})), ErrInvalid, "no entry has a record"},
		{entries(treeEntriesRecords, rec(file, digest[:DigestSize])), ErrTruncated, ""},
		{entries(treeEntriesRecords, rec(file, nil)), ErrTruncated, ""},
		{entries(0, rec(file, digest)), ErrTrailing, ""},
		{entries(1<<2, rec(file, nil)), ErrInvalid, "unknown flags"},
	} {
		_, err := Decode(TypeTreeEntries, tc.b)
		if !errors.Is(err, tc.want) || (tc.msg != "" && !strings.Contains(err.Error(), tc.msg)) {
			t.Errorf("%d: Decode = %v, want %v (%q)", i, err, tc.want, tc.msg)
		}
	}
}
