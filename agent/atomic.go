package agent

// An atomic push (wire.FlagAtomic) runs the receiver into a temporary file
// beside the target, .NAME.pdiffagent-XXXXXXXX, created beneath the root
// like every other file (the directory is opened through the jail, the
// temporary file O_EXCL in it, never through a link). It starts as a
// reflink clone of the target, or a copy where the filesystem has no
// reflinks, made before the server answers the Open; a missing target
// means an empty start. The engine writes and fsyncs it, and
// (engine.ReceiveTarget) renames it over the target (and fsyncs the
// directory) before it makes the target's record and the FinalAck goes
// out, so a client told "verified" finds the new file in place, a failed
// rename reaches it as an error, and the record holds the identity of the
// file in place. The receiver takes its hashes from the target's record
// while the target still has the record's identity: the temporary file
// starts as its copy. Any failure removes the temporary file; a server
// killed meanwhile leaves it behind (the target is intact). The lock is
// the target's (its inode, or its path when it is missing).
