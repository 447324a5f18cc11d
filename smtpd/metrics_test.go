package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailsuite/internal/scrape"
	"mailsuite/metrics"
	"mailsuite/smtpd/policy"
	"mailsuite/store"
)

// TestRefusalReasons: every reply smtpd refuses with has its own reason
// label, never the catch-all "temporary" or "permanent".
func TestRefusalReasons(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{errTemporary, "local_error"},
		{errShuttingDown, "shutting_down"},
		{errMailFirst, "bad_sequence"},
		{policy.ErrAuthRequired, "auth_required"},
		{errCredRevoked, "auth_required"},
		{policy.ErrSendingDisabled, "auth_required"},
		{policy.ErrNullSenderSubmission, "sender_refused"},
		{policy.SenderRefused("a@example.com", "x"), "sender_refused"},
		{policy.UserUnknown("a@example.com"), "unknown_user"},
		{policy.RelayDenied("a@remote.test"), "relay_denied"},
		{policy.AddressError("x", true, errors.New("bad")), "bad_address"},
		{policy.AddressError("x", false, errors.New("bad")), "bad_address"},
		{policy.MailboxFull("a@example.com"), "over_quota"},
		{policy.ErrMessageOverQuota, "over_quota"},
		{smtp.ErrDataTooLarge, "too_large"},
		{errBareLineEnd, "bad_data"},
		{errNUL, "bad_data"},
		{errLineTooLong, "bad_data"},
		{errDataRead, "aborted"},
		{policy.SendLimitReached("a@example.com", policy.LimitHit{Limit: 1, What: "messages per hour"}, true), "rate_limited"},
		{errors.New("not a reply"), "local_error"},
		{&smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 9, 9}}, "temporary"},
		{&smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 9, 9}}, "permanent"},
	} {
		if got := refusalReason(c.err); got != c.want {
			t.Errorf("%v: reason %q, want %q", c.err, got, c.want)
		}
	}
}

// TestMetricsCount: real SMTP sessions on the three listener roles move
// the counters of accepted and refused messages (by role and reason), of
// relay decisions (auth, grant, refused), of SMTP logins, and of
// suspensions for a sending limit.
func TestMetricsCount(t *testing.T) {
	m := metrics.New()
	e := newEnvServer(t, func(s *server) { s.metrics, s.auth.Metrics = m, m })
	url := scrape.Serve(t, m.Handler(e.srv.log))

	// The MX port: an unknown user, a local delivery, a refused relay.
	c := dial(t, e.mx, "", false)
	c.ehlo()
	c.must(250, "MAIL FROM:<x@elsewhere.test>")
	c.must(550, "RCPT TO:<nobody@example.com>")
	c.must(250, "RCPT TO:<%s>", alice)
	c.must(554, "RCPT TO:<y@remote.test>")
	if code, msg := c.data(testBody("in")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	c.must(221, "QUIT")

	// Submission: no auth, a wrong password, then relaying through AUTH.
	c = dial(t, e.sub, "", false)
	c.ehlo()
	c.starttls()
	c.must(530, "MAIL FROM:<%s>", alice)
	if code, _ := c.authPlain("", alice, "wrong"); code != 535 {
		t.Fatalf("wrong password: %d", code)
	}
	if code, msg := c.authPlain("", alice, userPass); code != 235 {
		t.Fatalf("AUTH: %d %s", code, msg)
	}
	c.must(250, "MAIL FROM:<%s>", alice)
	c.must(250, "RCPT TO:<a@remote.test>")
	c.must(250, "RCPT TO:<b@remote.test>")
	if code, msg := c.data(testBody("out")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	c.must(221, "QUIT")

	// A grant relays; a sender outside it is refused.
	e.grant("127.0.0.1", alice, time.Hour)
	c = dial(t, e.mx, "127.0.0.1", false)
	c.ehlo()
	c.must(250, "MAIL FROM:<%s>", alice)
	c.must(250, "RCPT TO:<c@remote.test>")
	c.must(250, "RSET")
	c.must(250, "MAIL FROM:<%s>", carol)
	c.must(553, "RCPT TO:<d@remote.test>")
	c.must(221, "QUIT")

	// Past her sending limit alice is refused and suspended.
	one := int64(1)
	if err := e.st.SetUserLimits(context.Background(), alice, store.LimitOverrides{MessagesPerHour: &one}); err != nil {
		t.Fatal(err)
	}
	c = authed(t, e.sub, alice, userPass)
	c.must(250, "MAIL FROM:<%s>", alice)
	c.must(450, "RCPT TO:<e@remote.test>")
	c.must(221, "QUIT")

	got := scrape.Get(t, url)
	for series, want := range map[string]float64{
		`mailsuite_smtp_messages_accepted_total{role="mx"}`:                               1,
		`mailsuite_smtp_messages_accepted_total{role="submission"}`:                       1,
		`mailsuite_smtp_messages_refused_total{reason="unknown_user",role="mx"}`:          1,
		`mailsuite_smtp_messages_refused_total{reason="relay_denied",role="mx"}`:          1,
		`mailsuite_smtp_messages_refused_total{reason="sender_refused",role="mx"}`:        1,
		`mailsuite_smtp_messages_refused_total{reason="auth_required",role="submission"}`: 1,
		`mailsuite_smtp_relay_decisions_total{route="refused"}`:                           2,
		`mailsuite_smtp_relay_decisions_total{route="auth"}`:                              3,
		`mailsuite_smtp_relay_decisions_total{route="grant"}`:                             1,
		`mailsuite_logins_total{protocol="smtp",result="failed"}`:                         1,
		`mailsuite_logins_total{protocol="smtp",result="ok"}`:                             2,
		`mailsuite_smtp_messages_refused_total{reason="rate_limited",role="submission"}`:  1,
		`mailsuite_smtp_suspensions_total{reason="messages_per_hour"}`:                    1,
	} {
		if got[series] != want {
			t.Errorf("%s = %v, want %v", series, got[series], want)
		}
	}
}
