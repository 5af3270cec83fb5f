package engine

import (
	"path/filepath"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/pdiffagent/pdiffagent/engine/cache"
	"github.com/pdiffagent/pdiffagent/sysio"
	"github.com/pdiffagent/pdiffagent/wire"
	"github.com/zeebo/xxh3"
)

// A session's tier-1 hash follows its capabilities: XXH3-64 when both
// peers have CapXXH3, xxhash64 with an older peer; the records either
// makes say which, and each serves only sessions that hash the same.
func TestWeakFollowsCaps(t *testing.T) {
	b := randBytes(40, 5000)
	if weakOf(wire.AgentCaps)(b) != xxh3.Hash(b) || weakOf(wire.AgentCaps&^wire.CapXXH3)(b) != xxhash.Sum64(b) {
		t.Fatal("weakOf does not follow CapXXH3")
	}
	if (Options{}).subWeak(wire.AgentCaps)(b) != xxh3.Hash(b) || (Options{}).subWeak(0)(b) != xxhash.Sum64(b) {
		t.Fatal("subWeak does not follow CapXXH3")
	}
	for _, c := range []struct {
		name        string
		caps        wire.Caps
		method, not uint8
	}{
		{"xxh3", wire.AgentCaps, uint8(SHA256) | cache.MethodXXH3, uint8(SHA256)},
		{"older-peer", wire.AgentCaps &^ wire.CapXXH3, uint8(SHA256), uint8(SHA256) | cache.MethodXXH3},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := randBytes(41, 32*testBS+9)
			s, d := writeCase(t, syncCase{src: src, dst: flip(src, 3*testBS, 20*testBS+1)})
			store, err := cache.Open(cache.Options{Dir: filepath.Join(t.TempDir(), "cache")})
			if err != nil {
				t.Fatal(err)
			}
			p := Params{Session: Session{BlockSize: testBS, Workers: 2}}
			opt := Options{Cache: store}
			if _, rst := syncCaps(t, s, d, p, opt, c.caps); rst.BlocksChanged != 2 || !rst.Verified {
				t.Fatalf("sync: %+v", rst)
			}
			checkFile(t, d, src)
			f, err := sysio.Open(d, sysio.ReadOnly, sysio.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if r, st, _ := store.Lookup(f, testBS, c.method); st != cache.Hit {
				t.Fatalf("the target's record, by method %#x: %v", c.method, st)
			} else {
				r.Close()
			}
			if _, st, _ := store.Lookup(f, testBS, c.not); st == cache.Hit {
				t.Fatalf("the target's record served method %#x", c.not)
			}
			// The next session with the same peers reads nothing.
			sst, rst := syncCaps(t, s, d, p, opt, c.caps)
			if rst.TargetCache != "hit" || rst.TargetRead != 0 || sst.SourceRead != 0 {
				t.Fatalf("rerun: %+v / %+v", sst, rst)
			}
		})
	}
}
