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

// serveQUICFloor accepts QUIC connections until ctx ends; each stream is
// read to its end and answered with one byte.
func serveQUICFloor(ctx context.Context, srvConf *tls.Config, ready func(string)) error {
	ln, err := quic.ListenAddr("127.0.0.1:0", srvConf, floorQUICConfig(maxFloorStreams))
	if err != nil {
		return err
	}
	defer ln.Close()
	ready(ln.Addr().String())
	return acceptAll(ctx, ln.Accept, func(qc *quic.Conn, wg *sync.WaitGroup) {
		for {
			s, err := qc.AcceptStream(ctx)
			if err != nil {
				return // the client closed the connection, or ctx ended
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if recvToEOF(s) == nil {
					s.Write([]byte{1})
					s.Close()
				}
			}()
		}
	})
}

// maxFloorStreams bounds the streams a QUIC floor connection may open.
const maxFloorStreams = 256

// sendQUICFloor sends total bytes over streams streams spread round-robin
// over conns connections, each its share, and waits for every stream's
// answer.
func sendQUICFloor(ctx context.Context, cliConf *tls.Config, addr string, conns, streams int, total int64) (NetFloor, error) {
	streams = min(max(streams, 1), maxFloorStreams)
	conns = min(max(conns, 1), streams)
	f := NetFloor{Kind: "quic", Connections: conns, Streams: streams, Bytes: total, Detail: "quic-go"}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	start := time.Now()
	qcs := make([]*quic.Conn, conns)
	defer func() {
		for _, qc := range qcs {
			if qc != nil {
				qc.CloseWithError(0, "")
			}
		}
	}()
	for i := range qcs {
		var err error
		if qcs[i], err = quic.DialAddr(ctx, addr, cliConf, floorQUICConfig(streams)); err != nil {
			return f, err
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i := range streams {
		share := total*int64(i+1)/int64(streams) - total*int64(i)/int64(streams)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := qcs[i%conns].OpenStreamSync(ctx)
			if err != nil {
				errs <- err
				return
			}
			errs <- sendAndAwait(s, s.Close, share)
		}()
	}
	wg.Wait()
	f.Seconds = time.Since(start).Seconds()
	close(errs)
	for err := range errs {
		if err != nil {
			cancel()
			return f, err
		}
	}
	return f, nil
}

// recvToEOF reads a stream to its end.
func recvToEOF(s io.Reader) error {
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
