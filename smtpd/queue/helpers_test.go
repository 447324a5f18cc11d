package queue

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/shared/config"
	"mailsuite/store"
)

// fakeDNS answers from maps; a missing name does not exist.
type fakeDNS struct {
	mx    map[string][]*net.MX
	hosts map[string][]string
	fail  map[string]bool // names whose lookups fail temporarily
}

func (d *fakeDNS) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if d.fail[name] {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	if mx, ok := d.mx[name]; ok {
		return mx, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (d *fakeDNS) LookupHost(ctx context.Context, host string) ([]string, error) {
	if a, ok := d.hosts[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// redirectDialer dials the test server standing in for "ip:25"; other
// loopback addresses (routes to test servers) are dialed as they are, and
// anything else is refused without touching the network.
type redirectDialer struct {
	to map[string]string
	d  net.Dialer
}

func (r *redirectDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if to, ok := r.to[addr]; ok {
		return r.d.DialContext(ctx, network, to)
	}
	if host, port, _ := net.SplitHostPort(addr); port != "25" && net.ParseIP(host).IsLoopback() {
		return r.d.DialContext(ctx, network, addr)
	}
	return nil, fmt.Errorf("dial %s: connection refused (test)", addr)
}

// testEnv is a store with a local domain and user, a configuration whose
// retry schedule is 1m, 2m, 4m and lifetime 1h, and a movable clock.
type testEnv struct {
	t     *testing.T
	path  string
	st    *store.Store
	cfg   *config.Config
	clock *testutil.Clock
	logs  *testutil.SyncBuffer
	alice int64 // user alice@local.test
}

var testTimeouts = DefaultTimeouts().Scaled(0.01) // 3 s per command

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	e := &testEnv{t: t, clock: testutil.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)), logs: &testutil.SyncBuffer{}}
	e.path = filepath.Join(t.TempDir(), "mail.db")
	e.st = e.open()
	ctx := context.Background()
	if err := e.st.AddDomain(ctx, "local.test"); err != nil {
		t.Fatal(err)
	}
	id, err := e.st.AddUser(ctx, "alice@local.test", "x", true)
	if err != nil {
		t.Fatal(err)
	}
	e.alice = id
	e.cfg = config.Default()
	e.cfg.Hostname = "mx.local.test"
	e.cfg.SMTPD.Queue.Retry = []config.Duration{{Duration: time.Minute}, {Duration: 2 * time.Minute}, {Duration: 4 * time.Minute}}
	e.cfg.SMTPD.Queue.Lifetime = config.Duration{Duration: time.Hour}
	e.cfg.SMTPD.Queue.Routes = map[string]string{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("runner log:\n%s", e.logs.String())
		}
	})
	return e
}

// open opens another handle on the store file, as another process would.
func (e *testEnv) open() *store.Store {
	st, err := store.Open(e.path, store.WithClock(e.clock.Now))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	return st
}

func (e *testEnv) runner(opts ...Option) *Runner {
	return e.runnerOn(e.st, opts...)
}

func (e *testEnv) runnerOn(st *store.Store, opts ...Option) *Runner {
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base := []Option{WithClock(e.clock.Now), WithTimeouts(testTimeouts), WithPollInterval(20 * time.Millisecond),
		WithResolver(&fakeDNS{}), WithDialer(&redirectDialer{})}
	return New(e.cfg, st, log, append(base, opts...)...)
}

// enqueue queues a message through store.Accept, as smtpd does.
func (e *testEnv) enqueue(from string, to ...string) {
	e.t.Helper()
	body := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: queue test %d\r\nMessage-ID: <%d@test>\r\n\r\nHello.\r\n",
		from, to[0], time.Now().UnixNano(), time.Now().UnixNano())
	if err := e.st.Accept(context.Background(), store.Envelope{From: from, Remote: to}, []byte(body)); err != nil {
		e.t.Fatal(err)
	}
}

// queued returns the queue as the store has it.
func (e *testEnv) queued() []store.QueuedMessage {
	e.t.Helper()
	q, err := e.st.QueuedMessages(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return q
}

// onlyRcpt returns the single queued recipient.
func (e *testEnv) onlyRcpt() store.QueuedRcpt {
	e.t.Helper()
	q := e.queued()
	if len(q) != 1 || len(q[0].Rcpts) != 1 {
		e.t.Fatalf("queue = %+v, want one message with one recipient", q)
	}
	return q[0].Rcpts[0]
}

// inbox returns the bodies in alice's INBOX.
func (e *testEnv) inbox() []string {
	e.t.Helper()
	return testutil.Inbox(e.t, e.st, e.alice)
}

// start runs r in the background until the test ends or stop is called.
func start(t *testing.T, r *Runner) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// runOnce does one scan and delivers what it found, synchronously, and
// returns the number of jobs (connections' worth of work).
func runOnce(t *testing.T, r *Runner) int {
	t.Helper()
	ctx := context.Background()
	jobs := make(chan *job)
	done := make(chan struct{})
	go func() {
		for j := range jobs {
			r.runJob(ctx, ctx, j)
		}
		close(done)
	}()
	n := r.dispatch(ctx, jobs)
	close(jobs)
	<-done
	return n
}

// waitFor polls cond for up to 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
