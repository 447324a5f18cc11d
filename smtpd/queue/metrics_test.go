package queue

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"mailsuite/internal/scrape"
	"mailsuite/metrics"
)

// TestMetricsCountDeliveries: a delivery, permanent failures and their
// one bounce, then a deferral, are counted as they happen.
func TestMetricsCountDeliveries(t *testing.T) {
	e := newEnv(t)
	m := metrics.New()
	url := scrape.Serve(t, m.Handler(slog.New(slog.NewTextHandler(e.logs, nil))))
	r := e.runner(WithMetrics(m))

	mx := newFakeServer(t, nil)
	for _, who := range []string{"bob", "dan"} {
		mx.reject[who+"@remote.test"] = true
	}
	e.cfg.SMTPD.Queue.Routes["remote.test"] = mx.addr
	e.enqueue("alice@local.test", "bob@remote.test", "carol@remote.test", "dan@remote.test")
	runOnce(t, r)
	want := map[string]float64{
		`mailsuite_queue_deliveries_total{result="delivered"}`: 1,
		`mailsuite_queue_deliveries_total{result="failed"}`:    2,
		`mailsuite_queue_deliveries_total{result="deferred"}`:  0,
		`mailsuite_queue_bounces_total`:                        1,
	}
	check := func() {
		t.Helper()
		got := scrape.Get(t, url)
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
