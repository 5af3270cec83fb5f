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
	// Kinds lists the floors to measure: "tcp", "tls", "rec", "quic".
	Kinds []string
	// Measure, if set, measures one floor, by ServeFloor and SendFloor in
	// two processes as the syncs run; nil measures both ends in this one.
	Measure func(ctx context.Context, kind string, conns, streams int, total int64) (NetFloor, error)
}

// NetFloor is the throughput of one raw transport over loopback: the
// fastest any sync over it could move its changed bytes.
type NetFloor struct {
	Kind        string  `json:"kind"` // "tcp", "tls", "rec", "quic"
	Connections int     `json:"connections"`
	Streams     int     `json:"streams"`
	Bytes       int64   `json:"bytes"`
	Seconds     float64 `json:"seconds"`
	// Detail names what was measured: the TLS cipher suite, the QUIC
	// implementation.
	Detail string `json:"detail,omitempty"`
	// Processes is 2 when the two ends ran as two processes, as the
	// syncs do, and 1 when they shared one.
	Processes int `json:"processes,omitempty"`
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
func (r *Report) NetFloorOf(kind string) (NetFloor, bool) { return netFloorOf(r.Net, kind) }

// measureNet measures every configured floor and keeps, per kind, the
// fastest of this measurement and the earlier ones in rep, and in round
// if not nil (the floors of one round's repetitions).
func measureNet(ctx context.Context, cfg Config, rep *Report, round *[]NetFloor) error {
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
		conns := n.Workers // tcp and tls: a connection per worker
		if kind == "quic" {
			conns = n.Connections
		}
		if n.Measure != nil {
			f, err = n.Measure(ctx, kind, conns, n.Workers, n.Bytes)
		} else {
			f, err = measureHere(ctx, kind, nil, conns, n.Workers, n.Bytes)
		}
		if err != nil {
			return fmt.Errorf("bench: %s floor: %w", kind, err)
		}
		rep.Net = keepFastest(rep.Net, f)
		if round != nil {
			*round = keepFastest(*round, f)
		}
	}
	return nil
}

// keepFastest adds f to floors: the fastest of its kind stays, counting
// the samples.
func keepFastest(floors []NetFloor, f NetFloor) []NetFloor {
	i := 0
	for i < len(floors) && floors[i].Kind != f.Kind {
		i++
	}
	switch {
	case i == len(floors):
		f.Samples = 1
		return append(floors, f)
	case f.BytesPerSecond() > floors[i].BytesPerSecond():
		f.Samples = floors[i].Samples + 1
		floors[i] = f
	default:
		floors[i].Samples++
	}
	return floors
}

// netFloorOf returns the floor of that kind from floors.
func netFloorOf(floors []NetFloor, kind string) (NetFloor, bool) {
	for _, f := range floors {
		if f.Kind == kind {
			return f, true
		}
	}
	return NetFloor{}, false
}

// MeasureTCP sends total bytes over conns loopback TCP connections at once,
// each its share in netChunk writes, and times it until the receivers have
// read everything, both ends in this process. With a non-nil tlsConf every
// connection is TLS 1.3 with an in-memory self-signed certificate (tlsConf
// may set CipherSuites preferences; its certificates are replaced).
func MeasureTCP(ctx context.Context, conns int, total int64, tlsConf *tls.Config) (NetFloor, error) {
	kind := "tcp"
	if tlsConf != nil {
		kind = "tls"
	}
	return measureHere(ctx, kind, tlsConf, conns, conns, total)
}

// MeasureQUIC sends total bytes over streams quic-go streams spread
// round-robin over conns connections (each from its own UDP socket, as
// pdiffagent dials them) and times it until the server has read
// everything, both ends in this process.
func MeasureQUIC(ctx context.Context, conns, streams int, total int64) (NetFloor, error) {
	return measureHere(ctx, "quic", nil, conns, streams, total)
}

// measureHere runs ServeFloor and SendFloor in this process.
func measureHere(ctx context.Context, kind string, tlsConf *tls.Config, conns, streams int, total int64) (NetFloor, error) {
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- serveFloor(sctx, kind, tlsConf, func(addr string) { ready <- addr }) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-served:
		return NetFloor{Kind: kind}, err
	}
	f, err := sendFloor(ctx, kind, tlsConf, addr, conns, streams, total)
	stop()
	if serr := <-served; err == nil && serr != nil {
		err = serr
	}
	f.Processes = 1
	return f, err
}

// ServeFloor is the receiving end of a network floor of kind "tcp", "tls",
// "rec" or "quic": it listens on 127.0.0.1:0, calls ready with the address
// and, until ctx ends, reads every connection (tcp, tls, rec) or stream
// (quic) to its
// end and then answers it with one byte, so that the sender knows all of
// it arrived.
func ServeFloor(ctx context.Context, kind string, ready func(addr string)) error {
	return serveFloor(ctx, kind, &tls.Config{}, ready)
}

// SendFloor is the sending end of a network floor: it sends total bytes to
// a ServeFloor at addr over conns connections (quic: streams streams spread
// over conns connections; tcp, tls and rec: one stream per connection) and
// times it from the first dial until every stream's answer arrived.
func SendFloor(ctx context.Context, kind, addr string, conns, streams int, total int64) (NetFloor, error) {
	return sendFloor(ctx, kind, &tls.Config{}, addr, conns, streams, total)
}

func serveFloor(ctx context.Context, kind string, tlsConf *tls.Config, ready func(string)) error {
	srvConf, _, err := floorConfigs(kind, tlsConf)
	if err != nil {
		return err
	}
	switch kind {
	case "tcp", "tls", "rec":
		return serveTCPFloor(ctx, kind, srvConf, ready)
	case "quic":
		return serveQUICFloor(ctx, srvConf, ready)
	}
	return fmt.Errorf("unknown floor %q", kind)
}

func sendFloor(ctx context.Context, kind string, tlsConf *tls.Config, addr string, conns, streams int, total int64) (NetFloor, error) {
	_, cliConf, err := floorConfigs(kind, tlsConf)
	if err != nil {
		return NetFloor{Kind: kind}, err
	}
	switch kind {
	case "tcp", "tls", "rec":
		return sendTCPFloor(ctx, kind, cliConf, addr, conns, total)
	case "quic":
		return sendQUICFloor(ctx, cliConf, addr, conns, streams, total)
	}
	return NetFloor{Kind: kind}, fmt.Errorf("unknown floor %q", kind)
}

// floorConfigs is floorTLS for a floor of kind: none for plain tcp and
// for rec (netfloor_rec.go), quic's with its application protocol.
func floorConfigs(kind string, tlsConf *tls.Config) (srv, cli *tls.Config, err error) {
	if kind == "tcp" || kind == "rec" {
		return nil, nil, nil
	}
	if tlsConf == nil {
		tlsConf = &tls.Config{}
	}
	alpn := ""
	if kind == "quic" {
		alpn = floorALPN
	}
	return floorTLS(tlsConf, alpn)
}

// serveTCPFloor accepts connections until ctx ends; each is read to its
// end and answered with one byte.
func serveTCPFloor(ctx context.Context, kind string, srvConf *tls.Config, ready func(string)) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ready(ln.Addr().String())
	go func() { <-ctx.Done(); ln.Close() }()
	return acceptAll(ctx, func(context.Context) (net.Conn, error) { return ln.Accept() }, func(c net.Conn, _ *sync.WaitGroup) {
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		var rw io.ReadWriter = c
		switch {
		case srvConf != nil:
			rw = tls.Server(c, srvConf)
		case kind == "rec":
			rc, err := newRecConn(c, false)
			if err != nil {
				return
			}
			rw = rc
		}
		if recvToEOF(rw) == nil {
			rw.Write([]byte{1})
		}
	})
}

// acceptAll serves everything accept returns, each in a goroutine of its
// own (which may start more on wg), until accept fails; it then waits for
// them all, and reports the failure unless ctx has ended.
func acceptAll[T any](ctx context.Context, accept func(context.Context) (T, error), serve func(T, *sync.WaitGroup)) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serve(c, &wg)
		}()
	}
}

// sendTCPFloor sends total bytes over conns connections, each its share,
// half-closes each and waits for its answer.
func sendTCPFloor(ctx context.Context, kind string, cliConf *tls.Config, addr string, conns int, total int64) (NetFloor, error) {
	conns = max(conns, 1)
	f := NetFloor{Kind: kind, Connections: conns, Streams: conns, Bytes: total}
	suite := make(chan uint16, 1)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		share := total*int64(i+1)/int64(conns) - total*int64(i)/int64(conns)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
				if err != nil {
					return err
				}
				defer c.Close()
				stop := context.AfterFunc(ctx, func() { c.Close() })
				defer stop()
				half := c.(*net.TCPConn).CloseWrite
				var rw io.ReadWriter = c
				if kind == "rec" {
					if rw, err = newRecConn(c, true); err != nil {
						return err
					}
				}
				if cliConf != nil {
					tc := tls.Client(c, cliConf)
					defer func() {
						select {
						case suite <- tc.ConnectionState().CipherSuite:
						default:
						}
					}()
					rw, half = tc, tc.CloseWrite
				}
				return sendAndAwait(rw, half, share)
			}()
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
	switch {
	case cliConf != nil:
		f.Detail = "TLS 1.3 " + tls.CipherSuiteName(<-suite) + " through crypto/tls"
	case kind == "rec":
		f.Detail = recDetail()
	}
	return f, nil
}

// sendAndAwait sends n bytes, closes the sending direction and waits for
// the receiver's one-byte answer.
func sendAndAwait(rw io.ReadWriter, closeWrite func() error, n int64) error {
	if err := sendBytes(rw, n); err != nil {
		return err
	}
	if err := closeWrite(); err != nil {
		return err
	}
	var b [1]byte
	if _, err := io.ReadFull(rw, b[:]); err != nil {
		return fmt.Errorf("waiting for the receiver: %w", err)
	}
	return nil
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
