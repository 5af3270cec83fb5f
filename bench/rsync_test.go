package bench

import "testing"

// rsync327Stats is what rsync 3.2.7 --stats prints after a push.
const rsync327Stats = `
Number of files: 1 (reg: 1)
Number of created files: 0
Number of deleted files: 0
Number of regular files transferred: 1
Total file size: 1,073,741,824 bytes
Total transferred file size: 1,073,741,824 bytes
Literal data: 3,276,800 bytes
Matched data: 1,070,465,024 bytes
File list size: 0
File list generation time: 0.001 seconds
File list transfer time: 0.000 seconds
Total bytes sent: 3,593,231
Total bytes received: 574,417

sent 3,593,231 bytes  received 574,417 bytes  1,190,756.57 bytes/sec
total size is 1,073,741,824  speedup is 257.63
`

func TestRsyncStats(t *testing.T) {
	wire, sent, err := rsyncStats([]byte(rsync327Stats))
	if err != nil || wire != 3593231+574417 || sent != 3276800 {
		t.Errorf("got wire %d, sent %d, %v; want %d, %d", wire, sent, err, 3593231+574417, 3276800)
	}
	if _, _, err := rsyncStats([]byte("sent 10 bytes  received 20 bytes\n")); err == nil {
		t.Error("output without --stats accepted")
	}
}
