package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/smtpd/policy"
	"mailsuite/store"
)

// BenchmarkAcceptTwoHosts is BenchmarkAcceptNewConn against two smtpd
// servers, each with its own store handle on one PostgreSQL database, as
// two hosts run them; the 8 clients alternate between the two. Its
// msgs/s is the pair's aggregate, to compare with BenchmarkAcceptNewConn
// on PostgreSQL (one host):
//
//	MAILSUITE_TEST_STORE=postgres go test -run '^$' -bench 'AcceptNewConn|AcceptTwoHosts' -benchtime 4000x ./smtpd/
func BenchmarkAcceptTwoHosts(b *testing.B) {
	if os.Getenv(testutil.EnvTestStore) != store.DriverPostgres {
		b.Skip("two hosts share a PostgreSQL store: set " + testutil.EnvTestStore + "=postgres")
	}
	e := newEnv(b)
	second, err := store.OpenPostgres(e.st.DSN())
	if err != nil {
		b.Fatal(err)
	}
	defer second.Close()
	srv := newServer(e.cfg, second, slog.New(slog.DiscardHandler), e.srv.tls)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv.serve(ln, policy.RoleMX, false)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.shutdown(ctx)
	}()
	hosts := []string{e.mx, ln.Addr().String()}
	body := benchBody(4096)
	const sessions = 8
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := benchSend(hosts[i%2], body); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
