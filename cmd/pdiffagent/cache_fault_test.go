package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCacheAfterKills: real processes, with their default caches. A push
// to a replica that has a valid record, cut by kill -9 of the server (the
// receiver) half way, once it has written a block, is rerun against a
// restarted server: the record was invalidated before that first write
// (killed before any write, the target would still have its record's
// identity, and the record would be used) and the journal was never sealed, so
// the rerun trusts neither ("miss") and reads the replica whole; the
// result is identical. Cut instead by kill -9 of the client, the server
// seals its journal and the rerun resumes from it ("resume"), reading
// and sending only what was not written (the journal logs each written
// block with both hashes).
func TestCacheAfterKills(t *testing.T) {
	e := newFaultEnv(t)
	root, local := t.TempDir(), t.TempDir()
	src, dst := filepath.Join(local, "f"), filepath.Join(root, "f")
	const size, bs = 8 << 20, 64 << 10
	writeBytes(t, src, fastRandom(31, size))
	writeBytes(t, dst, fastRandom(32, size))
	args := []string{"push", "--json", "-b", "64K", "-c", "2", src, "f"}
	push := func(s *server) *proc {
		a := append([]string(nil), args...)
		a[len(a)-1] = s.remote("f")
		return e.mustRun(a...)
	}
	word := func(p *proc) (string, int64, int64) {
		var out struct {
			TargetCache string `json:"target_cache"`
			TargetRead  int64  `json:"target_bytes_read"`
			Sent        int64  `json:"bytes_sent"`
		}
		if err := json.Unmarshal([]byte(p.stdout.String()), &out); err != nil {
			t.Fatalf("push --json: %v: %s", err, p.stdout.String())
		}
		return out.TargetCache, out.TargetRead, out.Sent
	}
	srv := e.startServer(root)
	push(srv)
	if w, _, _ := word(push(srv)); w != "hit" {
		t.Fatalf("second push: target cache %s, want hit", w)
	}
	for i, victim := range []string{"server", "client"} {
		writeBytes(t, src, fastRandom(uint64(40+i), size)) // every block changes
		a := append([]string(nil), args...)
		a[len(a)-1] = srv.remote("f")
		c := e.clientHeld(size/bs/2, a...)
		c.waitHeld(t)
		// Kill once the server has written a block (it invalidates the
		// record at its first write, and its journal then has something
		// to resume from): the first block of either stripe (the held
		// worker's may never come).
		want := fastRandom(uint64(40+i), size)
		if _, ok := waitUntil(func() bool {
			f, err := os.Open(dst)
			if err != nil {
				return false
			}
			defer f.Close()
			b := make([]byte, bs)
			for _, off := range []int64{0, size / 2} {
				if f.ReadAt(b, off); bytes.Equal(b, want[off:off+bs]) {
					return true
				}
			}
			return false
		}, time.Minute); !ok {
			t.Fatal("the server wrote nothing while the client held")
		}
		if victim == "server" {
			srv.kill()
			c.release()
			c.wait(time.Minute)
			srv = e.startServer(root)
		} else {
			ended := srv.sessionsEnded()
			c.kill()
			if _, ok := waitUntil(func() bool { return srv.sessionsEnded() > ended }, time.Minute); !ok {
				t.Fatalf("the server did not end the session of the killed client:\n%s", srv.stderr.String())
			}
		}
		p := push(srv)
		w, read, sent := word(p)
		wantWord := map[string]string{"server": "miss", "client": "resume"}[victim]
		// After the server's kill the rerun reads the replica whole, once
		// (a refined block's record entry comes from the copy it patched,
		// not read back); after the client's it reads only the blocks the
		// journal does not log, and sends them (all but the sub-blocks of a
		// refined block the first push had partly written).
		if w != wantWord || (victim == "server" && read != size) || (victim == "client" && (read >= size || sent > read)) {
			t.Fatalf("rerun after kill -9 of the %s: target cache %s, read %d of %d, sent %d; want %s", victim, w, read, size, sent, wantWord)
		}
		if fileSum(t, dst) != fileSum(t, src) {
			t.Fatalf("rerun after kill -9 of the %s: the replica differs", victim)
		}
		t.Logf("kill -9 of the %s: the rerun's target cache %s, read %d of %d bytes, sent %d", victim, w, read, size, sent)
	}
}
