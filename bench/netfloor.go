package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// netChunk is the write size of the network floors: one default block.
const netChunk = 1 << 20

// NetConfig says which network floors to measure and how.
type NetConfig struct {
	// Bytes sent by each floor; 0 measures none.
	Bytes int64
	// Workers is the number of TCP and TLS connections, and of QUIC
	// streams: pdiffagent's TCP transport opens one TLS connection per
	// worker, its QUIC transport one stream per worker.
	Workers int
	// Connections is the number of QUIC connections the streams are
	// spread over, as pdiffagent's --connections.
	Connections int
	// Kinds lists the floors to measure: "tcp", "tls", "quic".
	Kinds []string
}

// NetFloor is the throughput of one raw transport over loopback: the
// fastest any sync over it could move its changed bytes.
type NetFloor struct {
	Kind        string  `json:"kind"` // "tcp", "tls", "quic"
	Connections int     `json:"connections"`
	Streams     int     `json:"streams"`
	Bytes       int64   `json:"bytes"`
	Seconds     float64 `json:"seconds"`
	// Detail names what was measured: the TLS cipher suite, the QUIC
	// implementation.
	Detail string `json:"detail,omitempty"`
	// Samples is how many times the floor was measured in the run (before
	// the rounds, in each round, after them); the fastest is kept, so a
	// busy moment on a shared machine does not lower it.
	Samples int `json:"samples"`
}

// BytesPerSecond is the floor's throughput.
func (f NetFloor) BytesPerSecond() float64 {
	if f.Seconds <= 0 {
		return 0
	}
	return float64(f.Bytes) / f.Seconds
}

// TimeFor is the floor's time to send n bytes.
func (f NetFloor) TimeFor(n int64) float64 {
	if bps := f.BytesPerSecond(); bps > 0 {
		return float64(n) / bps
	}
	return 0
}

// Label names the floor as the tables and the chart do: "tls x2".
func (f NetFloor) Label() string {
	if f.Kind == "quic" {
		return fmt.Sprintf("quic-go %dc/%ds", f.Connections, f.Streams)
	}
	return fmt.Sprintf("%s x%d", f.Kind, f.Connections)
}

// NetFloorOf returns the floor of that kind from a report.
func (r *Report) NetFloorOf(kind string) (NetFloor, bool) {
	for _, f := range r.Net {
		if f.Kind == kind {
			return f, true
		}
	}
	return NetFloor{}, false
}

// measureNet measures every configured floor and keeps, per kind, the
// fastest of this measurement and the earlier ones in rep.
func measureNet(ctx context.Context, cfg Config, rep *Report) error {
	n := cfg.Net
	if n.Bytes <= 0 {
		return nil
	}
	for _, kind := range n.Kinds {
		cfg.Log("network floor: %s, %s", kind, FormatBytes(n.Bytes))
		var (
			f   NetFloor
			err error
		)
		switch kind {
		case "tcp":
			f, err = MeasureTCP(ctx, n.Workers, n.Bytes, nil)
		case "tls":
			f, err = MeasureTCP(ctx, n.Workers, n.Bytes, &tls.Config{})
		case "quic":
			f, err = MeasureQUIC(ctx, n.Connections, n.Workers, n.Bytes)
		default:
			err = fmt.Errorf("unknown floor %q", kind)
		}
		if err != nil {
			return fmt.Errorf("bench: %s floor: %w", kind, err)
		}
		i := 0
		for i < len(rep.Net) && rep.Net[i].Kind != kind {
			i++
		}
		switch {
		case i == len(rep.Net):
			f.Samples = 1
			rep.Net = append(rep.Net, f)
		case f.BytesPerSecond() > rep.Net[i].BytesPerSecond():
			f.Samples = rep.Net[i].Samples + 1
			rep.Net[i] = f
		default:
			rep.Net[i].Samples++
		}
	}
	return nil
}

// MeasureTCP sends total bytes over conns loopback TCP connections at once,
// each its share in netChunk writes, and times it until the receivers have
// read everything. With a non-nil tlsConf every connection is TLS 1.3 with
// an in-memory self-signed certificate (tlsConf may set CipherSuites
// preferences; its certificates are replaced).
func MeasureTCP(ctx context.Context, conns int, total int64, tlsConf *tls.Config) (NetFloor, error) {
	conns = max(conns, 1)
	f := NetFloor{Kind: "tcp", Connections: conns, Streams: conns, Bytes: total}
	var srvConf, cliConf *tls.Config
	if tlsConf != nil {
		var err error
		if srvConf, cliConf, err = floorTLS(tlsConf, ""); err != nil {
			return f, err
		}
		f.Kind = "tls"
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return f, err
	}
	defer ln.Close()
	suite := make(chan uint16, 1)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 2*conns)
	for i := range conns {
		share := total*int64(i+1)/int64(conns) - total*int64(i)/int64(conns)
		wg.Add(2)
		go func() { // sender
			defer wg.Done()
			c, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			if cliConf != nil {
				c = tls.Client(c, cliConf)
			}
			defer c.Close()
			errs <- sendBytes(c, share)
		}()
		go func() { // receiver
			defer wg.Done()
			c, err := ln.Accept()
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if srvConf != nil {
				tc := tls.Server(c, srvConf)
				if err := tc.HandshakeContext(ctx); err != nil {
					errs <- err
					return
				}
				select {
				case suite <- tc.ConnectionState().CipherSuite:
				default:
				}
				c = tc
			}
			errs <- recvBytes(c, share)
		}()
	}
	wg.Wait()
	f.Seconds = time.Since(start).Seconds()
	close(errs)
	for err := range errs {
		if err != nil {
			return f, err
		}
	}
	if tlsConf != nil {
		f.Detail = "TLS 1.3 " + tls.CipherSuiteName(<-suite)
	}
	return f, nil
}

// sendBytes writes n bytes in netChunk writes.
func sendBytes(w io.Writer, n int64) error {
	buf := make([]byte, netChunk)
	for n > 0 {
		k := min(n, netChunk)
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// recvBytes reads exactly n bytes, in netChunk reads (io.Copy to
// io.Discard would read in 8 KiB pieces), and fails on fewer.
func recvBytes(r io.Reader, n int64) error {
	buf := make([]byte, netChunk)
	for n > 0 {
		k, err := r.Read(buf[:min(n, netChunk)])
		n -= int64(k)
		if err != nil {
			if errors.Is(err, io.EOF) && n > 0 {
				return fmt.Errorf("%d bytes missing: %w", n, io.ErrUnexpectedEOF)
			}
			if n > 0 {
				return err
			}
		}
	}
	return nil
}
