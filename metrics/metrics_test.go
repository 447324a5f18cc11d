package metrics

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailsuite/internal/scrape"
	"mailsuite/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// serve starts m's server on a free loopback port, stopped at the end of
// the test, and returns its /metrics URL.
func serve(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := m.Serve(loopback(t), quiet)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return "http://" + srv.Addr().String() + "/metrics"
}

// loopback listens on a free loopback port.
func loopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "mail.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestScrapeCounts: what the daemons count is served at /metrics over
// HTTP, with the Go runtime and process collectors.
func TestScrapeCounts(t *testing.T) {
	m := New()
	url := serve(t, m)
	m.MessageAccepted("mx")
	m.MessageAccepted("mx")
	m.MessageRefused("submission", "auth_required")
	m.RelayDecision(RouteGrant)
	m.Delivery(Deferred)
	m.Bounce()
	m.Suspension("bounces_per_hour")
	m.Login("pop3", LoginThrottled)
	m.ObserveCommit(3 * time.Millisecond)

	got := scrape.Get(t, url)
	for series, want := range map[string]float64{
		`mailsuite_smtp_messages_accepted_total{role="mx"}`:                               2,
		`mailsuite_smtp_messages_refused_total{reason="auth_required",role="submission"}`: 1,
		`mailsuite_smtp_relay_decisions_total{route="grant"}`:                             1,
		`mailsuite_queue_deliveries_total{result="deferred"}`:                             1,
		`mailsuite_queue_bounces_total`:                                                   1,
		`mailsuite_smtp_suspensions_total{reason="bounces_per_hour"}`:                     1,
		`mailsuite_logins_total{protocol="pop3",result="throttled"}`:                      1,
		`mailsuite_store_commit_seconds_count`:                                            1,
		`mailsuite_store_commit_seconds_bucket{le="0.005"}`:                               1,
		`mailsuite_store_commit_seconds_bucket{le="0.0025"}`:                              0,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_open_fds"} {
		if _, ok := got[name]; !ok {
			t.Errorf("%s missing: no runtime or process collector", name)
		}
	}
	// Counting goes on between scrapes.
	m.MessageAccepted("mx")
	if v := scrape.Get(t, url)[`mailsuite_smtp_messages_accepted_total{role="mx"}`]; v != 3 {
		t.Errorf("after one more message: %v, want 3", v)
	}
}

// TestNilCountsNothing: with metrics off the daemons hold a nil *Metrics;
// every call is then a no-op and listeners are left as they are.
func TestNilCountsNothing(t *testing.T) {
	var m *Metrics
	m.MessageAccepted("mx")
	m.MessageRefused("mx", "relay_denied")
	m.RelayDecision(RouteAuth)
	m.Delivery(Delivered)
	m.Bounce()
	m.Suspension("messages_per_hour")
	m.Login("imap", LoginOK)
	m.ObserveCommit(time.Second)
	m.WatchStore(nil)
	ln := loopback(t)
	defer ln.Close()
	if got := m.Sessions(ln, "pop3d.listen"); got != ln {
		t.Errorf("Sessions on nil metrics wrapped the listener: %T", got)
	}
}

// TestSessionsGauge: each accepted connection counts until it is closed,
// once however often it is closed; each listener has its own series.
func TestSessionsGauge(t *testing.T) {
	m := New()
	url := serve(t, m)
	raw := loopback(t)
	ln := m.Sessions(raw, "imapd.listen")
	defer ln.Close()
	var server []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		server = append(server, s)
	}
	m.Sessions(raw, "imapd.tls_listen") // another listener, nothing open
	open := func() map[string]float64 {
		got := scrape.Get(t, url)
		return map[string]float64{
			"plain": got[`mailsuite_sessions_open{listener="imapd.listen"}`],
			"tls":   got[`mailsuite_sessions_open{listener="imapd.tls_listen"}`],
		}
	}
	if got := open(); got["plain"] != 3 || got["tls"] != 0 {
		t.Fatalf("open sessions %v, want 3 and 0", got)
	}
	server[0].Close()
	server[0].Close()
	server[1].Close()
	if got := open(); got["plain"] != 1 {
		t.Fatalf("after closing two (one twice): %v, want 1", got)
	}
}

// TestWatchStore: the queue and grant gauges read the store at scrape
// time; with the store gone the scrape still serves everything else.
func TestWatchStore(t *testing.T) {
	m := New()
	st := openStore(t)
	m.WatchStore(st)
	url := serve(t, m)
	ctx := context.Background()
	got := scrape.Get(t, url)
	if got["mailsuite_queue_messages"] != 0 || got["mailsuite_queue_oldest_age_seconds"] != 0 || got["mailsuite_grants_live"] != 0 {
		t.Fatalf("empty store: %v %v %v", got["mailsuite_queue_messages"], got["mailsuite_queue_oldest_age_seconds"], got["mailsuite_grants_live"])
	}
	if _, ok := got["mailsuite_grants_live"]; !ok {
		t.Fatal("mailsuite_grants_live missing")
	}
	st.AddDomain(ctx, "example.com")
	uid, err := st.AddUser(ctx, "a@example.com", "hash", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Grant(ctx, "127.0.0.9", uid, time.Hour); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := st.Accept(ctx, store.Envelope{From: "a@example.com", Remote: []string{"x@r.test"}}, []byte("Subject: q\r\n\r\nhi\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	got = scrape.Get(t, url)
	if got["mailsuite_queue_messages"] != 2 || got["mailsuite_grants_live"] != 1 {
		t.Errorf("queue %v grants %v, want 2 and 1", got["mailsuite_queue_messages"], got["mailsuite_grants_live"])
	}
	if age := got["mailsuite_queue_oldest_age_seconds"]; age < 0 || age > 3600 {
		t.Errorf("oldest age %v s", age)
	}

	st.Close()
	got = scrape.Get(t, url)
	if _, ok := got["mailsuite_queue_messages"]; ok {
		t.Error("a closed store still gave a queue length")
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("a failed store read took the other metrics with it")
	}
}

// TestShutdown: after Shutdown the port is closed, and only /metrics is
// served before.
func TestShutdown(t *testing.T) {
	m := New()
	ln := loopback(t)
	srv := m.Serve(ln, quiet)
	base := "http://" + srv.Addr().String()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET / = %s, want 404", resp.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := scrape.TryGet(base + "/metrics"); err == nil {
		t.Fatal("still serving after Shutdown")
	}
}

// TestREADMENamesRegistered: every mailsuite_ name README.md's Monitoring
// section uses (scrape config, alerts, the list) is a metric the daemons
// serve, so an operator's alert never waits on a series that cannot exist.
func TestREADMENamesRegistered(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n### Monitoring\n")
	if !ok {
		t.Fatal("README.md has no ### Monitoring section")
	}
	if end := strings.Index(section, "\n### "); end >= 0 {
		section = section[:end]
	}
	names := regexp.MustCompile(`mailsuite_[a-z_]+[a-z]`).FindAllString(section, -1)
	if len(names) < 10 {
		t.Fatalf("the Monitoring section names only %d metrics: %v", len(names), names)
	}

	m := New()
	m.WatchStore(openStore(t))
	// Vectors show only once a series exists.
	m.MessageAccepted("mx")
	m.MessageRefused("mx", "relay_denied")
	m.RelayDecision(RouteAuth)
	m.Delivery(Delivered)
	m.Suspension("messages_per_hour")
	m.Login("smtp", LoginOK)
	ln := loopback(t)
	defer ln.Close()
	m.Sessions(ln, "smtpd.listen")
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, f := range families {
		served[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				served[f.GetName()+s] = true
			}
		}
	}
	for _, n := range names {
		if !served[n] {
			t.Errorf("README.md names %s, which no daemon serves", n)
		}
	}
	// And the README lists every metric the daemons define.
	for n := range served {
		if strings.HasPrefix(n, "mailsuite_") && !strings.HasSuffix(n, "_bucket") && !strings.HasSuffix(n, "_sum") &&
			!strings.HasSuffix(n, "_count") && !strings.Contains(section, n) {
			t.Errorf("README.md's Monitoring section does not list %s", n)
		}
	}
}
