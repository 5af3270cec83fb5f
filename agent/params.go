package agent

import (
	"github.com/pdiffagent/pdiffagent/engine"
	"github.com/pdiffagent/pdiffagent/wire"
)

// paramFlags maps engine.Params booleans to Open flags.
var paramFlags = []struct {
	flag uint32
	get  func(*engine.Params) *bool
}{
	{wire.FlagDryRun, func(p *engine.Params) *bool { return &p.DryRun }},
	{wire.FlagWholeFile, func(p *engine.Params) *bool { return &p.WholeFile }},
	{wire.FlagNoSparse, func(p *engine.Params) *bool { return &p.NoSparse }},
	{wire.FlagNoTimes, func(p *engine.Params) *bool { return &p.NoTimes }},
	{wire.FlagNoPerms, func(p *engine.Params) *bool { return &p.NoPerms }},
	{wire.FlagOwner, func(p *engine.Params) *bool { return &p.Owner }},
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
		if *f.get(&p) {
			o.Flags |= f.flag
		}
	}
	return o
}

// paramsFromOpen is the server's reading of an Open. Size (and so End when
// the client left it 0) is the pushed source's; for a pull the caller fills
// them from its own file and validates.
func paramsFromOpen(o *wire.Open, maxWorkers int) (engine.Params, error) {
	p := engine.Params{
		Size:      o.Size,
		BlockSize: int(o.BlockSize),
		Workers:   min(int(o.Workers), maxWorkers),
		Strong:    engine.StrongHash(o.Strong),
		Codec:     o.Codec,
		Start:     o.Start,
		End:       o.End,
	}
	for _, f := range paramFlags {
		*f.get(&p) = o.Flags&f.flag != 0
	}
	if o.Op == wire.OpPull {
		p.Size = 0
		return p, nil
	}
	return fillRange(p)
}

// fillRange applies Params.Normalize's End default and validates p.
func fillRange(p engine.Params) (engine.Params, error) {
	if p.End == 0 {
		p.End = p.Size
	}
	if err := p.Validate(); err != nil {
		return p, codeErrorf(wire.CodeBadRequest, "%v", err)
	}
	return p, nil
}
