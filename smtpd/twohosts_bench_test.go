package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/shared/config"
	"mailsuite/smtpd/policy"
	"mailsuite/store"
)

// BenchmarkAcceptTwoHosts is SMTP accept on PostgreSQL with one smtpd
// and with two, each with its own store handle on one database as two
// hosts run them, in the same run: 16 clients, over new connections as
// in BenchmarkAcceptNewConn, alternate between the hosts. Its msgs/s is
// the aggregate. The recipients are one user (every delivery appends to
// one mailbox, whose UIDs commit one at a time on any store) or 16 (the
// deliveries of two hosts to different users commit in parallel). cpu%
// is the whole machine's CPU use meanwhile: here the hosts, PostgreSQL
// and the clients share its cores, where real hosts would bring their
// own.
//
//	MAILSUITE_TEST_STORE=postgres go test -run '^$' -bench AcceptTwoHosts -benchtime 4000x -count 5 ./smtpd/
func BenchmarkAcceptTwoHosts(b *testing.B) {
	if os.Getenv(testutil.EnvTestStore) != store.DriverPostgres {
		b.Skip("two hosts share a PostgreSQL store: set " + testutil.EnvTestStore + "=postgres")
	}
	for _, users := range []int{1, 16} {
		for _, hosts := range []int{1, 2} {
			b.Run(fmt.Sprintf("users=%d/hosts=%d", users, hosts), func(b *testing.B) {
				benchAcceptHosts(b, hosts, users)
			})
		}
	}
}

func benchAcceptHosts(b *testing.B, hosts, users int) {
	// 16 clients on one address: room for the sessions still closing
	// on the server's side when their client has moved on.
	e := newEnv(b, func(c *config.Config) { c.SMTPD.MaxConnectionsPerIP = 64 })
	rcpts := []string{alice}
	for i := 1; i < users; i++ {
		rcpt := fmt.Sprintf("user%d@example.com", i)
		if _, err := e.st.AddUser(context.Background(), rcpt, testHash(), true); err != nil {
			b.Fatal(err)
		}
		rcpts = append(rcpts, rcpt)
	}
	addrs := []string{e.mx}
	for range hosts - 1 {
		st, err := store.OpenPostgres(e.st.DSN())
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		srv := newServer(e.cfg, st, slog.New(slog.DiscardHandler), e.srv.tls)
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
		addrs = append(addrs, ln.Addr().String())
	}
	body := benchBody(4096)
	const sessions = 16
	var next atomic.Int64
	var wg sync.WaitGroup
	cpu := cpuTimes(b)
	b.ResetTimer()
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				if err := benchSendTo(addrs[i%hosts], rcpts[n%int64(users)], body); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(cpuBusy(b, cpu), "cpu%")
}

// cpuTimes reads the machine's busy and total CPU time so far, in ticks,
// from /proc/stat.
func cpuTimes(b *testing.B) [2]int64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	var busy, total int64
	for i, f := range strings.Fields(line)[1:] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			b.Fatalf("/proc/stat: %q", line)
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return [2]int64{busy, total}
}

// cpuBusy is the share of the machine's CPU time used since start, in
// percent.
func cpuBusy(b *testing.B, start [2]int64) float64 {
	end := cpuTimes(b)
	if end[1] == start[1] {
		return 0
	}
	return 100 * float64(end[0]-start[0]) / float64(end[1]-start[1])
}
