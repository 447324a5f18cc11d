package queue

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/metrics"
)

// TestMetricsCountDeliveries: a delivery, permanent failures and their
// one bounce, then a deferral, are counted as they happen.
func TestMetricsCountDeliveries(t *testing.T) {
	m := metrics.New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := m.Serve(ln, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	scrape := func() map[string]float64 { return testutil.Scrape(t, "http://"+srv.Addr().String()+"/metrics") }

	e := newEnv(t)
	f := newFakeServer(t, nil)
	f.reject["bob@remote.test"] = true
	f.reject["dan@remote.test"] = true
	e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
	e.enqueue("alice@local.test", "bob@remote.test", "carol@remote.test", "dan@remote.test")
	r := e.runner(WithMetrics(m))
	runOnce(t, r)
	want := map[string]float64{
		`mailsuite_queue_deliveries_total{result="delivered"}`: 1,
		`mailsuite_queue_deliveries_total{result="failed"}`:    2,
		`mailsuite_queue_deliveries_total{result="deferred"}`:  0,
		`mailsuite_queue_bounces_total`:                        1,
	}
	check := func() {
		t.Helper()
		got := scrape()
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
	}
	check()

	// A closed port: the attempt is deferred.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead.Close()
	e.cfg.SMTPD.Queue.Routes["down.test"] = dead.Addr().String()
	e.enqueue("alice@local.test", "eve@down.test")
	e.clock.Add(time.Second)
	runOnce(t, r)
	want[`mailsuite_queue_deliveries_total{result="deferred"}`] = 1
	check()
}
