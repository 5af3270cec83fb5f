package agent

import (
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// engine.Params cross the wire in wire.Open, converted here once each way:
// openMessage on the client, paramsFromOpen on the server. The session's
// part travels whole; of the file's, the range (End 0: to the end) and,
// for a push, the source's size, time and mode.

// paramFlags maps engine.Session booleans to Open flags.
var paramFlags = []struct {
	flag uint32
	get  func(*engine.Session) *bool
}{
	{wire.FlagDryRun, func(s *engine.Session) *bool { return &s.DryRun }},
	{wire.FlagWholeFile, func(s *engine.Session) *bool { return &s.WholeFile }},
	{wire.FlagNoSparse, func(s *engine.Session) *bool { return &s.NoSparse }},
	{wire.FlagNoTimes, func(s *engine.Session) *bool { return &s.NoTimes }},
	{wire.FlagNoPerms, func(s *engine.Session) *bool { return &s.NoPerms }},
	{wire.FlagOwner, func(s *engine.Session) *bool { return &s.Owner }},
	{wire.FlagNoCache, func(s *engine.Session) *bool { return &s.NoCache }},
	{wire.FlagNoRolling, func(s *engine.Session) *bool { return &s.NoRolling }},
}

// openMessage is the Open for p. For a push the caller sets Size, ModTime
// and Mode from the source.
func openMessage(op wire.Op, path string, p engine.Params) *wire.Open {
	o := &wire.Open{
		Op:        op,
		Path:      path,
		BlockSize: uint32(p.BlockSize),
		Workers:   uint16(p.Workers),
		Strong:    uint8(p.Strong),
		Codec:     p.Codec,
		Start:     p.Start,
		End:       p.End,
	}
	for _, f := range paramFlags {
		if *f.get(&p.Session) {
			o.Flags |= f.flag
		}
	}
	if p.MinBlock > 0 {
		o.SetMinBlock(uint32(p.MinBlock))
	}
	return o
}

// paramsFromOpen is the server's reading of an Open, not yet bound to the
// source's size: bindParams does that, with the pushed source's size
// (o.Size) or, for a pull, the size of the file the server opened.
func paramsFromOpen(o *wire.Open, maxWorkers int) engine.Params {
	s := engine.Session{
		BlockSize: int(o.BlockSize),
		Workers:   min(int(o.Workers), maxWorkers),
		Strong:    engine.StrongHash(o.Strong),
		Codec:     o.Codec,
		MinBlock:  int(o.MinBlock()),
	}
	for _, f := range paramFlags {
		*f.get(&s) = o.Flags&f.flag != 0
	}
	return engine.Params{Session: s, File: engine.File{Start: o.Start, End: o.End}}
}

// bindParams binds p to the source's size; a client's parameters that do
// not fit are its mistake.
func bindParams(p engine.Params, size int64) (engine.Params, error) {
	p, err := p.Bind(size)
	if err != nil {
		return p, codeErrorf(wire.CodeBadRequest, "%v", err)
	}
	return p, nil
}
