package wire

import "encoding/binary"

// Messages of a tree session (CapTree; agent/doc.go has the protocol).
// The client opens the session with an Open whose Op is OpTree and whose
// Path names the tree's directory beneath the server's root; its other
// fields are the session's parameters (block size, workers, hash, codec,
// flags). On the control stream, which is not one of the engine's
// streams, the client then sends one TreeReq at a time and the server
// answers each: a TreeReply, or, for TreeList, TreeEntries batches ending
// with one whose Last is set. A TreeFile request answered with success is
// followed by one engine run over the worker streams (Size, ModTime and
// Mode of the TreeReq are the file's); a TreeAttach names the session id
// under which a new set of worker streams attaches (after a file whose
// failure tore the previous set down). Between peers that both have
// CapTreeRecords, a TreeList with TreeListRecords is answered with
// TreeEntries that carry, for each regular file, the digest of its
// current block-hash record (TreeEntry.Record); an older peer is never
// sent one.
const (
	TypeTreeReq     Type = 0x30 // client -> server: one entry operation
	TypeTreeReply   Type = 0x31 // server -> client: its outcome (and an entry for TreeStat)
	TypeTreeEntries Type = 0x32 // server -> client: part of a directory's listing
)

// CapTree: the peer serves tree sessions (Open with OpTree).
const CapTree Caps = 1 << 3

// CapTreeDevices: the peer's tree sessions know TreeMknod (whether its
// server makes device nodes is its policy: listen --allow-devices). A
// client never sends TreeMknod to a peer without it, whose decoder would
// take the unknown op for a malformed request and end the session.
const CapTreeDevices Caps = 1 << 5

// CapTreeRecords: the peer reads, and its listings may carry, the record
// digests of regular files (TreeEntry.Record): a listing's file whose
// block-hash record is current carries that record's digest, so that the
// side that decides can count a quick-check skip as verified where both
// copies' records have the same digest (engine/tree, records.go). A
// client asks for them per listing (TreeListRecords), only of a server
// with the bit, and a listing carries them only when asked, to a peer
// with the bit: an older server refuses the flag, an older client's
// decoder the grown TreeEntries (its first byte above 1).
const CapTreeRecords Caps = 1 << 6

// OpTree opens a tree session that writes the server's tree (a push);
// OpTreePull one that reads it (a pull: TreeList, TreeStat, TreeGet,
// TreeAttach and TreeFlush only).
const (
	OpTree     Op = 3
	OpTreePull Op = 4
)

// Tree operations (TreeReq.Op). Paths are relative to the tree's
// directory, '/'-separated; "." names the directory itself (TreeList,
// TreeStat and TreeMeta only).
const (
	TreeList      uint8 = 1  // Path's sorted listing, in TreeEntries
	TreeStat      uint8 = 2  // Path's entry (lstat), in TreeReply
	TreeMkdir     uint8 = 3  // make directory Path (mode 0700)
	TreeSymlink   uint8 = 4  // make Path a symlink whose text is Arg
	TreeLink      uint8 = 5  // make Path a hard link to Arg (both in the tree)
	TreeRemove    uint8 = 6  // remove Path, a directory with its contents (never following a symlink)
	TreeRmdir     uint8 = 7  // remove Path, an empty directory
	TreeMeta      uint8 = 8  // give Path the Flags' parts of Mode, ModTime, Uid, Gid
	TreeFile      uint8 = 9  // sync regular file Path (Size, ModTime, Mode): an engine run follows
	TreeAttach    uint8 = 10 // worker streams attach with SessionID
	TreeFlush     uint8 = 11 // make what the session wrote durable
	TreeGet       uint8 = 12 // send regular file Path (a pull): TreeReply's Entry describes it, an engine run follows
	TreeMknod     uint8 = 13 // make Path a device node: Mode's kind and permission bits, Size the device number
	treeOpLast          = TreeMknod
	TreeMetaMode  uint8 = 1 << 0 // TreeMeta: set the mode's permission bits
	TreeMetaTime  uint8 = 1 << 1 // TreeMeta: set the mtime
	TreeMetaOwner uint8 = 1 << 2 // TreeMeta: set the owner (Uid, Gid)
	treeMetaAll         = TreeMetaMode | TreeMetaTime | TreeMetaOwner
	// TreeListRecords: TreeList asks for its files' record digests
	// (TreeEntry.Record), which a client that can use them sets, and
	// only to a server with CapTreeRecords (an older one refuses the bit).
	TreeListRecords uint8 = 1 << 3
)

// MaxNameLen bounds one name of a listing (a directory entry's name).
const MaxNameLen = 255

// MaxTreeBatch bounds the entries of one TreeEntries.
const MaxTreeBatch = 64

// TreeReq is one operation of a tree session.
type TreeReq struct {
	Op        uint8
	Flags     uint8
	SessionID [SessionIDSize]byte // TreeAttach
	Mode      uint32
	Uid, Gid  uint32
	Size      int64
	ModTime   int64 // unix nanoseconds
	Path, Arg string
	// Streams are the worker streams (1..workers) a TreeFile runs on, or
	// those a TreeAttach attaches anew; at most MaxWorkers.
	Streams []uint16
}

// TreeEntry is one entry of a listing, or TreeStat's answer (Kind 0: no
// such entry). Kind is engine/tree's: file 1, directory 2, symlink 3,
// device 4, other 5. Link is a symlink's text.
type TreeEntry struct {
	Kind            uint8
	Mode            uint32 // io/fs.FileMode bits
	Uid, Gid        uint32
	Size, ModTime   int64
	Nlink, Dev, Ino uint64
	Rdev            uint64
	Name, Link      string
	// Record is the digest of a regular file's block-hash record, current
	// for exactly the Size and ModTime above (zero: none). Only a
	// TreeEntries to a peer with CapTreeRecords carries it; a TreeReply
	// never does.
	Record [DigestSize]byte
}

// TreeReply answers a TreeReq: Code 0 for success, else a wire error code
// and Message; Entry for TreeStat.
type TreeReply struct {
	Code    uint16
	Message string
	Entry   TreeEntry
}

// TreeEntries is part of a listing, sorted by name; Last ends it. Its
// first byte holds Last (bit 0) and treeEntriesRecords (bit 1), set when
// some entry has a Record: every entry is then followed by one byte, 1
// when its Record (DigestSize bytes) follows, else 0.
type TreeEntries struct {
	Last    bool
	Entries []TreeEntry
}

const (
	treeReqFixedLen   = 2*sizeU8 + SessionIDSize + 3*sizeU32 + 2*sizeU64
	treeReqMaxLen     = treeReqFixedLen + 2*(strLenSize+MaxPathLen) + sizeU16 + MaxWorkers*sizeU16
	treeEntryFixedLen = sizeU8 + 3*sizeU32 + 6*sizeU64
	treeEntryMaxLen   = treeEntryFixedLen + strLenSize + MaxNameLen + strLenSize + MaxPathLen
	treeReplyMaxLen   = sizeU16 + strLenSize + MaxErrorLen + treeEntryMaxLen
	treeRecordMaxLen  = sizeU8 + DigestSize // an entry's record in a TreeEntries with treeEntriesRecords
	treeEntriesMaxLen = sizeU8 + sizeU16 + MaxTreeBatch*(treeEntryMaxLen+treeRecordMaxLen)

	treeEntriesLast    = 1 << 0 // TreeEntries' first byte: Last
	treeEntriesRecords = 1 << 1 // TreeEntries' first byte: each entry is followed by its record's presence
)

func (*TreeReq) Type() Type     { return TypeTreeReq }
func (*TreeReply) Type() Type   { return TypeTreeReply }
func (*TreeEntries) Type() Type { return TypeTreeEntries }

func (r *TreeReq) Len() int {
	return treeReqFixedLen + 2*strLenSize + len(r.Path) + len(r.Arg) + sizeU16 + sizeU16*len(r.Streams)
}

func (r *TreeReq) Append(b []byte) []byte {
	b = append(b, r.Op, r.Flags)
	b = append(b, r.SessionID[:]...)
	b = binary.BigEndian.AppendUint32(b, r.Mode)
	b = binary.BigEndian.AppendUint32(b, r.Uid)
	b = binary.BigEndian.AppendUint32(b, r.Gid)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Size))
	b = binary.BigEndian.AppendUint64(b, uint64(r.ModTime))
	b = appendString(b, r.Path)
	b = appendString(b, r.Arg)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Streams)))
	for _, w := range r.Streams {
		b = binary.BigEndian.AppendUint16(b, w)
	}
	return b
}

// Validate checks a known Op, known Flags, Size >= 0 and the strings'
// lengths. The paths' contents are the agent's to judge.
func (r *TreeReq) Validate() error {
	switch {
	case r.Op == 0 || r.Op > treeOpLast:
		return errInvalid(TypeTreeReq, "unknown op %d", r.Op)
	case r.Flags&^(treeMetaAll|TreeListRecords) != 0:
		return errInvalid(TypeTreeReq, "unknown flags %#x", r.Flags)
	case r.Flags&TreeListRecords != 0 && r.Op != TreeList:
		return errInvalid(TypeTreeReq, "records flag on op %d, not TreeList", r.Op)
	case r.Size < 0:
		return errInvalid(TypeTreeReq, "negative size %d", r.Size)
	case len(r.Path) > MaxPathLen:
		return errTooLarge(TypeTreeReq, "path length", uint64(len(r.Path)), MaxPathLen)
	case len(r.Arg) > MaxPathLen:
		return errTooLarge(TypeTreeReq, "arg length", uint64(len(r.Arg)), MaxPathLen)
	case len(r.Streams) > MaxWorkers:
		return errTooLarge(TypeTreeReq, "streams", uint64(len(r.Streams)), MaxWorkers)
	}
	return nil
}

func parseTreeReq(b []byte) (*TreeReq, int, error) {
	if len(b) < treeReqFixedLen {
		return nil, 0, errTruncated(TypeTreeReq, treeReqFixedLen, len(b))
	}
	r := &TreeReq{Op: b[0], Flags: b[1]}
	o := 2
	copy(r.SessionID[:], b[o:])
	o += SessionIDSize
	r.Mode = binary.BigEndian.Uint32(b[o:])
	r.Uid = binary.BigEndian.Uint32(b[o+4:])
	r.Gid = binary.BigEndian.Uint32(b[o+8:])
	r.Size = int64(binary.BigEndian.Uint64(b[o+12:]))
	r.ModTime = int64(binary.BigEndian.Uint64(b[o+20:]))
	o += 28
	var n int
	var err error
	if r.Path, n, err = parseString(TypeTreeReq, "path", b[o:], MaxPathLen); err != nil {
		return nil, 0, err
	}
	o += n
	if r.Arg, n, err = parseString(TypeTreeReq, "arg", b[o:], MaxPathLen); err != nil {
		return nil, 0, err
	}
	o += n
	if len(b) < o+sizeU16 {
		return nil, 0, errTruncated(TypeTreeReq, o+sizeU16, len(b))
	}
	count := int(binary.BigEndian.Uint16(b[o:]))
	o += sizeU16
	// Bounded before allocating: the count, and the bytes it needs.
	if count > MaxWorkers {
		return nil, 0, errTooLarge(TypeTreeReq, "streams", uint64(count), MaxWorkers)
	}
	if len(b) < o+count*sizeU16 {
		return nil, 0, errTruncated(TypeTreeReq, o+count*sizeU16, len(b))
	}
	if count > 0 {
		r.Streams = make([]uint16, count)
		for i := range r.Streams {
			r.Streams[i] = binary.BigEndian.Uint16(b[o+2*i:])
		}
		o += 2 * count
	}
	if err := r.Validate(); err != nil {
		return nil, 0, err
	}
	return r, o, nil
}

func (e *TreeEntry) len() int { return treeEntryFixedLen + 2*strLenSize + len(e.Name) + len(e.Link) }

func (e *TreeEntry) append(b []byte) []byte {
	b = append(b, e.Kind)
	b = binary.BigEndian.AppendUint32(b, e.Mode)
	b = binary.BigEndian.AppendUint32(b, e.Uid)
	b = binary.BigEndian.AppendUint32(b, e.Gid)
	for _, v := range [...]uint64{uint64(e.Size), uint64(e.ModTime), e.Nlink, e.Dev, e.Ino, e.Rdev} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	b = appendString(b, e.Name)
	return appendString(b, e.Link)
}

func (e *TreeEntry) validate(t Type) error {
	switch {
	case e.Record != [DigestSize]byte{} && e.Kind != 1:
		return errInvalid(t, "record digest on %q, an entry of kind %d: only regular files have records", e.Name, e.Kind)
	case e.Kind > 5:
		return errInvalid(t, "unknown entry kind %d", e.Kind)
	case e.Size < 0:
		return errInvalid(t, "negative size %d", e.Size)
	case len(e.Name) > MaxNameLen:
		return errTooLarge(t, "name length", uint64(len(e.Name)), MaxNameLen)
	case len(e.Link) > MaxPathLen:
		return errTooLarge(t, "link length", uint64(len(e.Link)), MaxPathLen)
	}
	return nil
}

func parseTreeEntry(t Type, b []byte) (TreeEntry, int, error) {
	if len(b) < treeEntryFixedLen {
		return TreeEntry{}, 0, errTruncated(t, treeEntryFixedLen, len(b))
	}
	e := TreeEntry{Kind: b[0]}
	e.Mode = binary.BigEndian.Uint32(b[1:])
	e.Uid = binary.BigEndian.Uint32(b[5:])
	e.Gid = binary.BigEndian.Uint32(b[9:])
	u := func(i int) uint64 { return binary.BigEndian.Uint64(b[13+8*i:]) }
	e.Size, e.ModTime = int64(u(0)), int64(u(1))
	e.Nlink, e.Dev, e.Ino, e.Rdev = u(2), u(3), u(4), u(5)
	o := treeEntryFixedLen
	var n int
	var err error
	if e.Name, n, err = parseString(t, "name", b[o:], MaxNameLen); err != nil {
		return TreeEntry{}, 0, err
	}
	o += n
	if e.Link, n, err = parseString(t, "link", b[o:], MaxPathLen); err != nil {
		return TreeEntry{}, 0, err
	}
	o += n
	return e, o, e.validate(t)
}

func (r *TreeReply) Len() int { return sizeU16 + strLenSize + len(r.Message) + r.Entry.len() }

func (r *TreeReply) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, r.Code)
	b = appendString(b, r.Message)
	return r.Entry.append(b)
}

// Validate checks the message's length and the entry (which carries no
// Record).
func (r *TreeReply) Validate() error {
	switch {
	case len(r.Message) > MaxErrorLen:
		return errTooLarge(TypeTreeReply, "message length", uint64(len(r.Message)), MaxErrorLen)
	case r.Entry.Record != [DigestSize]byte{}:
		return errInvalid(TypeTreeReply, "a reply's entry carries no record digest")
	}
	return r.Entry.validate(TypeTreeReply)
}

func parseTreeReply(b []byte) (*TreeReply, int, error) {
	if len(b) < sizeU16 {
		return nil, 0, errTruncated(TypeTreeReply, sizeU16, len(b))
	}
	r := &TreeReply{Code: binary.BigEndian.Uint16(b)}
	msg, n, err := parseString(TypeTreeReply, "message", b[sizeU16:], MaxErrorLen)
	if err != nil {
		return nil, 0, err
	}
	r.Message = msg
	o := sizeU16 + n
	if r.Entry, n, err = parseTreeEntry(TypeTreeReply, b[o:]); err != nil {
		return nil, 0, err
	}
	return r, o + n, r.Validate()
}
