package metrics

import (
	"io"
	"net/http/httptest"
	"testing"
)

// BenchmarkCount is the cost of one counted event on a daemon's hot path.
func BenchmarkCount(b *testing.B) {
	m := New()
	for b.Loop() {
		m.MessageRefused("mx", "relay_denied")
	}
}

// BenchmarkScrape is one /metrics page with the store gauges (smtpd's).
func BenchmarkScrape(b *testing.B) {
	m := New()
	m.WatchStore(openStore(b))
	m.MessageAccepted("mx")
	h := m.Handler(quiet)
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
		io.Discard.Write(w.Body.Bytes())
	}
}
