package wire

import (
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
	return []Message{
		&TreeReq{Op: TreeList, Path: "."},
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
	}
}

func TestTreeInvalid(t *testing.T) {
	for i, tc := range []struct {
		m    Message
		want error
	}{
		{&TreeReq{}, ErrInvalid},
		{&TreeReq{Op: TreeMknod + 1}, ErrInvalid},
		{&TreeReq{Op: TreeMeta, Flags: 8}, ErrInvalid},
		{&TreeReq{Op: TreeFile, Size: -1}, ErrInvalid},
		{&TreeReq{Op: TreeFile, Streams: make([]uint16, MaxWorkers+1)}, ErrTooLarge},
		{&TreeReply{Entry: TreeEntry{Kind: 6}}, ErrInvalid},
		{&TreeReply{Entry: TreeEntry{Name: strings.Repeat("n", MaxNameLen+1)}}, ErrTooLarge},
		{&TreeEntries{Entries: make([]TreeEntry, MaxTreeBatch+1)}, ErrTooLarge},
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
