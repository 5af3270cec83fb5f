package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

// floorALPN is the application protocol of the QUIC floor.
const floorALPN = "pdiffagent-bench"

// floorQUICConfig has the flow-control windows pdiffagent's transport uses
// (agent/transport_quic.go), so that the floor and the agent are limited
// alike.
func floorQUICConfig(streams int) *quic.Config {
	return &quic.Config{
		MaxIncomingStreams:         int64(streams + 1),
		MaxStreamReceiveWindow:     16 << 20,
		MaxConnectionReceiveWindow: 64 << 20,
		HandshakeIdleTimeout:       10 * time.Second,
		MaxIdleTimeout:             60 * time.Second,
	}
}

// MeasureQUIC sends total bytes over streams quic-go streams spread
// round-robin over conns connections (each from its own UDP socket, as
// pdiffagent dials them) and times it until the server has read
// everything.
func MeasureQUIC(ctx context.Context, conns, streams int, total int64) (NetFloor, error) {
	conns, streams = max(conns, 1), max(streams, 1)
	conns = min(conns, streams)
	f := NetFloor{Kind: "quic", Connections: conns, Streams: streams, Bytes: total, Detail: "quic-go"}
	srvConf, cliConf, err := floorTLS(&tls.Config{}, floorALPN)
	if err != nil {
		return f, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	ln, err := quic.ListenAddr("127.0.0.1:0", srvConf, floorQUICConfig(streams))
	if err != nil {
		return f, err
	}
	defer ln.Close()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		cancel()
	}
	start := time.Now()
	// Server: accept conns connections, and on each its share of streams.
	for c := range conns {
		perConn := (streams - c + conns - 1) / conns
		wg.Add(1)
		go func() {
			defer wg.Done()
			qc, err := ln.Accept(ctx)
			if err != nil {
				fail(err)
				return
			}
			var sw sync.WaitGroup
			for range perConn {
				s, err := qc.AcceptStream(ctx)
				if err != nil {
					fail(err)
					break
				}
				sw.Add(1)
				go func() {
					defer sw.Done()
					// Each stream's length is unknown here: read to its FIN.
					if err := recvToEOF(s); err != nil {
						fail(err)
					}
				}()
			}
			sw.Wait()
			qc.CloseWithError(0, "")
		}()
	}
	// Client: conns connections, streams round-robin over them.
	qcs := make([]*quic.Conn, conns)
	for i := range qcs {
		if qcs[i], err = quic.DialAddr(ctx, ln.Addr().String(), cliConf, floorQUICConfig(streams)); err != nil {
			cancel()
			wg.Wait()
			return f, err
		}
	}
	for i := range streams {
		share := total*int64(i+1)/int64(streams) - total*int64(i)/int64(streams)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := qcs[i%conns].OpenStreamSync(ctx)
			if err != nil {
				fail(err)
				return
			}
			if err := sendBytes(s, share); err != nil {
				fail(err)
			}
			s.Close()
		}()
	}
	wg.Wait()
	f.Seconds = time.Since(start).Seconds()
	for _, qc := range qcs {
		qc.CloseWithError(0, "")
	}
	if len(errs) > 0 {
		return f, errs[0]
	}
	return f, nil
}

// recvToEOF reads a stream to its end.
func recvToEOF(s *quic.Stream) error {
	buf := make([]byte, netChunk)
	for {
		_, err := s.Read(buf)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// floorTLS makes a server and a client TLS 1.3 configuration from base,
// with a fresh in-memory Ed25519 certificate. The client does not verify
// it: the floors measure throughput, not trust.
func floorTLS(base *tls.Config, alpn string) (srv, cli *tls.Config, err error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "pdiffagent-bench"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	srv = base.Clone()
	srv.MinVersion = tls.VersionTLS13
	srv.Certificates = []tls.Certificate{cert}
	cli = base.Clone()
	cli.MinVersion = tls.VersionTLS13
	cli.InsecureSkipVerify = true // throughput only; see above
	if alpn != "" {
		srv.NextProtos, cli.NextProtos = []string{alpn}, []string{alpn}
	}
	return srv, cli, nil
}
