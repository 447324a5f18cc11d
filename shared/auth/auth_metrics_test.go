package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"mailsuite/internal/scrape"
	"mailsuite/metrics"
)

// TestAuthCountsLogins: every Check is counted once under its protocol
// and result: ok, failed, throttled.
func TestAuthCountsLogins(t *testing.T) {
	a, _, _ := authFixture(t)
	m := metrics.New()
	a.Metrics = m
	url := scrape.Serve(t, m.Handler(a.Log))
	ctx := context.Background()

	if _, err := a.Check(ctx, ServiceIMAP, "192.0.2.1", "a@example.com", "secret"); err != nil {
		t.Fatal(err)
	}
	for i := range MaxFailuresPerIP {
		// Different accounts, so only the per-address limit is reached.
		if _, err := a.Check(ctx, ServicePOP3, "192.0.2.2", fmt.Sprintf("nobody%d@example.com", i), "x"); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("unknown user: %v", err)
		}
	}
	if _, err := a.Check(ctx, ServicePOP3, "192.0.2.2", "a@example.com", "secret"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("over the address limit: %v", err)
	}
	got := scrape.Get(t, url)
	for series, want := range map[string]float64{
		`mailsuite_logins_total{protocol="imap",result="ok"}`:        1,
		`mailsuite_logins_total{protocol="pop3",result="failed"}`:    MaxFailuresPerIP,
		`mailsuite_logins_total{protocol="pop3",result="throttled"}`: 1,
		`mailsuite_logins_total{protocol="pop3",result="ok"}`:        0,
	} {
		if got[series] != want {
			t.Errorf("%s = %v, want %v", series, got[series], want)
		}
	}
}
