package queue

import (
	"strings"
	"testing"
	"time"

	"mailsuite/shared/config"
)

// runUntilEmpty moves the clock to each next attempt and delivers, until
// the queue is empty (at most 100 rounds), and returns alice's INBOX.
func runUntilEmpty(t *testing.T, e *testEnv, r *Runner) []string {
	t.Helper()
	for i := 0; len(e.queued()) > 0; i++ {
		if i == 100 {
			t.Fatalf("queue not empty after %d rounds: %+v", i, e.queued())
		}
		var next time.Time
		for _, m := range e.queued() {
			for _, rc := range m.Rcpts {
				if next.IsZero() || rc.NextAttempt.Before(next) {
					next = rc.NextAttempt
				}
			}
		}
		if d := next.Sub(e.clock.Now()); d > 0 {
			e.clock.Add(d)
		}
		runOnce(t, r)
	}
	return e.inbox()
}

// TestDelayNoticeThenBounce: a remote that answers 451 to every attempt.
// With delay_warning 3m (retries after 1m, 2m, then every 4m; lifetime
// 1h), the sender gets exactly one "Action: delayed" notice, at the
// attempt 3 minutes in, and the bounce at the lifetime's end.
func TestDelayNoticeThenBounce(t *testing.T) {
	e := newEnv(t)
	e.cfg.SMTPD.Queue.DelayWarning = config.Duration{Duration: 3 * time.Minute}
	f := newFakeServer(t, nil)
	f.tempfail = 1000
	e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
	e.enqueue("alice@local.test", "bob@remote.test")
	start := e.clock.Now()
	r := e.runner()

	runOnce(t, r)
	e.clock.Add(time.Minute)
	runOnce(t, r)
	if n := len(e.inbox()); n != 0 {
		t.Fatalf("after 1 minute alice has %d messages, want none", n)
	}
	e.clock.Add(2 * time.Minute)
	runOnce(t, r)
	inbox := e.inbox()
	if len(inbox) != 1 {
		t.Fatalf("after 3 minutes alice has %d messages, want the delay notice", len(inbox))
	}
	d := parseDSN(t, inbox[0])
	if !strings.HasPrefix(inbox[0], "Return-Path: <>\r\n") || !strings.Contains(d.header.Get("Subject"), "Delayed") {
		t.Errorf("notice header: %v", d.header)
	}
	until := start.Add(time.Hour).Format(time.RFC1123Z)
	want := map[string]string{
		"Final-Recipient":  "rfc822; bob@remote.test",
		"Action":           "delayed",
		"Status":           "4.3.0",
		"Remote-MTA":       "dns; 127.0.0.1",
		"Diagnostic-Code":  "smtp; 451 4.3.0 try again later",
		"Will-Retry-Until": until,
	}
	if len(d.rcpts) != 1 {
		t.Fatalf("%d recipient blocks, want 1", len(d.rcpts))
	}
	for k, v := range want {
		if got := d.rcpts[0].Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(d.text, "do not need to send") || !strings.Contains(d.headers, "Subject: queue test") {
		t.Errorf("notice parts: text %q, headers %q", d.text, d.headers)
	}
	if rc := e.onlyRcpt(); rc.Status != "pending" {
		t.Fatalf("after the notice the recipient is %q, want still pending", rc.Status)
	}

	inbox = runUntilEmpty(t, e, r)
	if len(inbox) != 2 {
		t.Fatalf("alice has %d messages, want the delay notice and the bounce", len(inbox))
	}
	b := parseDSN(t, inbox[1])
	if got := b.rcpts[0].Get("Action"); got != "failed" || !e.clock.Now().Equal(start.Add(time.Hour)) {
		t.Errorf("second DSN Action = %q at %v, want the bounce at the lifetime's end", got, e.clock.Now())
	}
	if n := strings.Count(e.logs.String(), "delay notified"); n != 1 {
		t.Errorf("%d delay notices logged, want 1", n)
	}
}

// TestNoDelayNotice: never with delay_warning "" (zero), nor for the null
// sender or a message that goes before the warning time.
func TestNoDelayNotice(t *testing.T) {
	for _, tc := range []struct {
		name   string
		warn   time.Duration
		sender string
	}{
		{"delay_warning off", 0, "alice@local.test"},
		{"null sender", 3 * time.Minute, ""},
		{"after the lifetime", 2 * time.Hour, "alice@local.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.SMTPD.Queue.DelayWarning = config.Duration{Duration: tc.warn}
			f := newFakeServer(t, nil)
			f.tempfail = 1000
			e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
			e.enqueue(tc.sender, "bob@remote.test")
			inbox := runUntilEmpty(t, e, e.runner())
			want := 1 // the bounce
			if tc.sender == "" {
				want = 0
			}
			if len(inbox) != want || strings.Contains(e.logs.String(), "delay notified") {
				t.Errorf("alice has %d messages, want %d, and no delay notice:\n%s", len(inbox), want, e.logs)
			}
		})
	}
}
