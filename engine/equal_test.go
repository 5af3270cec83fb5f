package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
)

// TestEqualByRecordsReceiverChecks: a sender that claims equality by
// records (its PeerRecord forged to its own record's digest) against a
// target whose valid record has another digest fails the session as
// unverified, writing nothing; the honest sync then repairs the target.
// With the receiver's true digest the session ends equal, reading
// nothing on either side.
func TestEqualByRecordsReceiverChecks(t *testing.T) {
	g := newCacheRig(t)
	other := filepath.Join(t.TempDir(), "other")
	b := flip(g.data, 3*testBS+1)
	os.WriteFile(other, b, 0o644)
	g.sync(false) // records of src and of dst (as src)
	if _, err := SyncLocal(context.Background(), other, g.dst, g.params(false), Options{Cache: g.store}); err != nil {
		t.Fatal(err) // dst is now b, its record b's
	}
	digestOf := func(name string) [wire.DigestSize]byte {
		f, err := sysio.Open(name, sysio.ReadOnly, sysio.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rec, _, err := g.store.Lookup(f, testBS, g.params(false).RecordMethod())
		if err != nil || rec == nil || !rec.HasDigest {
			t.Fatalf("no record digest for %s: %v", name, err)
		}
		defer rec.Close()
		return rec.Digest
	}
	srcD, dstD := digestOf(g.src), digestOf(g.dst)
	if srcD == dstD {
		t.Fatal("different files, same record digest")
	}
	sst, _, err := g.equalPair(srcD)
	if !errors.Is(err, ErrVerify) || sst.BytesWritten != 0 {
		t.Fatalf("forged equality: %v, %+v", err, sst)
	}
	if got, _ := os.ReadFile(g.dst); !bytes.Equal(got, b) {
		t.Fatal("forged equality changed the target")
	}
	g.sync(false) // the honest sync: dst is src again, records equal
	sst, rst, err := g.equalPair(digestOf(g.dst))
	if err != nil || !rst.Verified || sst.SourceRead != 0 || rst.TargetRead != 0 || rst.BlocksConfirmed != rst.BlocksTotal {
		t.Fatalf("equal by records: %v, sender %+v, receiver %+v", err, sst, rst)
	}
	g.same()
}

// equalPair runs both sides of a sync of the rig with PeerRecord d; the
// sender's stats and the first error.
func (g *cacheRig) equalPair(d [wire.DigestSize]byte) (snd, rcv Stats, err error) {
	p := g.params(false)
	p.Caps, p.PeerRecord = wire.AgentCaps, d
	snd, rcv = g.pair(p, func(s Stream) Stream { return s })
	return snd, rcv, g.err
}
