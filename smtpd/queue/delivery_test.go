package queue

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"mailsuite/store"
)

func TestDeliverViaRouteWithSTARTTLS(t *testing.T) {
	e := newEnv(t)
	f := newFakeServer(t, testTLS(t))
	e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
	e.enqueue("alice@local.test", "bob@remote.test")
	r := e.runner()
	start(t, r)
	r.Kick()
	waitFor(t, "delivery", func() bool { return len(f.messages()) == 1 })
	m := f.messages()[0]
	if m.from != "alice@local.test" || len(m.to) != 1 || m.to[0] != "bob@remote.test" {
		t.Errorf("envelope = %q → %q", m.from, m.to)
	}
	if !strings.Contains(m.data, "Subject: queue test") || !strings.HasSuffix(m.data, "Hello.\r\n") {
		t.Errorf("data = %q", m.data)
	}
	if !m.tls {
		t.Error("STARTTLS was offered but not used")
	}
	waitFor(t, "queue to empty", func() bool { return len(e.queued()) == 0 })
	if !strings.Contains(e.logs.String(), "msg=delivered") || !strings.Contains(e.logs.String(), "tls=true") {
		t.Errorf("log lacks the delivery line with tls=true:\n%s", e.logs)
	}
}

func TestRetrySchedule(t *testing.T) {
	e := newEnv(t)
	f := newFakeServer(t, nil)
	f.tempfail = 2
	e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
	e.enqueue("alice@local.test", "bob@remote.test")
	r := e.runner()

	if n := runOnce(t, r); n != 1 {
		t.Fatalf("first scan: %d jobs, want 1", n)
	}
	rc := e.onlyRcpt()
	if rc.Status != store.RcptPending || rc.Attempts != 1 || !rc.NextAttempt.Equal(e.clock.Now().Add(time.Minute)) {
		t.Fatalf("after attempt 1: %+v, want pending, next in 1m", rc)
	}
	if !strings.HasPrefix(rc.LastError, "451 4.3.0 try again later") {
		t.Errorf("last error = %q", rc.LastError)
	}
	e.clock.Add(59 * time.Second)
	if n := runOnce(t, r); n != 0 {
		t.Fatalf("retried %d jobs before the retry time", n)
	}
	e.clock.Add(time.Second)
	runOnce(t, r)
	rc = e.onlyRcpt()
	if rc.Attempts != 2 || !rc.NextAttempt.Equal(e.clock.Now().Add(2*time.Minute)) {
		t.Fatalf("after attempt 2: %+v, want next in 2m", rc)
	}
	e.clock.Add(2 * time.Minute)
	runOnce(t, r)
	if len(f.messages()) != 1 || len(e.queued()) != 0 {
		t.Fatalf("after attempt 3: delivered %d, queue %+v", len(f.messages()), e.queued())
	}
}

func TestRetryRepeatsLastInterval(t *testing.T) {
	e := newEnv(t)
	r := e.runner()
	for n, want := range map[int]time.Duration{1: time.Minute, 3: 4 * time.Minute, 4: 4 * time.Minute, 9: 4 * time.Minute} {
		if got := r.retryAfter(n); got != want {
			t.Errorf("retryAfter(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestPartialSuccessAndLocalBounce(t *testing.T) {
	e := newEnv(t)
	f := newFakeServer(t, nil)
	f.reject["bob@remote.test"] = true
	f.reject["dan@remote.test"] = true
	e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
	e.enqueue("alice@local.test", "bob@remote.test", "carol@remote.test", "dan@remote.test")
	runOnce(t, e.runner())

	msgs := f.messages()
	if len(msgs) != 1 || strings.Join(msgs[0].to, ",") != "carol@remote.test" {
		t.Fatalf("delivered %+v, want one message to carol only", msgs)
	}
	if q := e.queued(); len(q) != 0 {
		t.Fatalf("queue not empty: %+v", q)
	}
	inbox := e.inbox()
	if len(inbox) != 1 {
		t.Fatalf("alice has %d messages, want one bounce", len(inbox))
	}
	if !strings.HasPrefix(inbox[0], "Return-Path: <>\r\n") {
		t.Errorf("local bounce does not start with Return-Path: <>: %.80q", inbox[0])
	}
	d := parseDSN(t, inbox[0])
	if d.from != "<>" && !strings.Contains(d.header.Get("From"), "MAILER-DAEMON@mx.local.test") {
		t.Errorf("bounce From = %q", d.header.Get("From"))
	}
	if d.perMessage.Get("Reporting-MTA") != "dns; mx.local.test" || d.perMessage.Get("Arrival-Date") == "" {
		t.Errorf("per-message fields: %v", d.perMessage)
	}
	if len(d.rcpts) != 2 {
		t.Fatalf("%d recipient blocks, want 2 (bob and dan)", len(d.rcpts))
	}
	for i, who := range []string{"bob", "dan"} {
		rb := d.rcpts[i]
		want := map[string]string{
			"Final-Recipient": "rfc822; " + who + "@remote.test",
			"Action":          "failed",
			"Status":          "5.1.1",
			"Remote-MTA":      "dns; 127.0.0.1",
			"Diagnostic-Code": "smtp; 550 5.1.1 no such user here",
		}
		for k, v := range want {
			if got := rb.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", who, k, got, v)
			}
		}
	}
	if !strings.Contains(d.headers, "Subject: queue test") {
		t.Errorf("original headers missing: %q", d.headers)
	}
	if !strings.Contains(d.text, "bob@remote.test") {
		t.Errorf("human part does not name bob: %q", d.text)
	}
}

func TestRemoteSenderBounceIsQueued(t *testing.T) {
	e := newEnv(t)
	f := newFakeServer(t, nil)
	f.reject["bob@remote.test"] = true
	e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
	e.enqueue("zed@elsewhere.test", "bob@remote.test")
	runOnce(t, e.runner())
	q := e.queued()
	if len(q) != 1 || q[0].Sender != "" || !q[0].IsBounce || q[0].Rcpts[0].Rcpt != "zed@elsewhere.test" {
		t.Fatalf("queue = %+v, want one bounce from <> to zed", q)
	}
	body, err := e.st.QueueBody(context.Background(), q[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := parseDSN(t, string(body)); len(d.rcpts) != 1 || d.rcpts[0].Get("Final-Recipient") != "rfc822; bob@remote.test" {
		t.Errorf("bounce report: %+v", d.rcpts)
	}
}

func TestNoBounceForNullSenderOrBounce(t *testing.T) {
	e := newEnv(t)
	f := newFakeServer(t, nil)
	f.reject["bob@remote.test"] = true
	e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
	e.enqueue("", "bob@remote.test")
	err := e.st.Accept(context.Background(), store.Envelope{From: "", Remote: []string{"bob@remote.test"}, IsBounce: true},
		[]byte("Subject: a bounce\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	runOnce(t, e.runner())
	if q := e.queued(); len(q) != 0 {
		t.Errorf("queue = %+v, want empty (no bounce of a bounce)", q)
	}
	if n := len(e.inbox()); n != 0 {
		t.Errorf("alice got %d messages", n)
	}
	if !strings.Contains(e.logs.String(), "not bounced") {
		t.Errorf("dropped bounce not logged:\n%s", e.logs)
	}
}

func TestLifetimeExpiryBounces(t *testing.T) {
	e := newEnv(t)
	e.cfg.SMTPD.Queue.Routes["down.test"] = "127.0.0.1:1" // refused
	e.enqueue("alice@local.test", "bob@down.test")
	r := e.runner(WithDialer(&redirectDialer{}))
	runOnce(t, r)
	if rc := e.onlyRcpt(); rc.Status != store.RcptPending || !strings.Contains(rc.LastError, "refused") {
		t.Fatalf("after a refused connection: %+v", rc)
	}
	e.clock.Add(59 * time.Minute)
	runOnce(t, r)
	if rc := e.onlyRcpt(); !rc.NextAttempt.Equal(time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC)) {
		t.Fatalf("last retry at %v, want at the lifetime's end", rc.NextAttempt)
	}
	e.clock.Add(time.Minute)
	runOnce(t, r)
	inbox := e.inbox()
	if len(inbox) != 1 || len(e.queued()) != 0 {
		t.Fatalf("inbox %d, queue %+v: want one bounce, empty queue", len(inbox), e.queued())
	}
	d := parseDSN(t, inbox[0])
	if got := d.rcpts[0].Get("Status"); got != "5.4.7" {
		t.Errorf("Status = %q, want 5.4.7", got)
	}
	if got := d.rcpts[0].Get("Diagnostic-Code"); !strings.Contains(got, "delivery time expired") {
		t.Errorf("Diagnostic-Code = %q", got)
	}
}

func TestConnectionReuse(t *testing.T) {
	e := newEnv(t)
	f := newFakeServer(t, nil)
	e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
	for range 20 {
		e.enqueue("alice@local.test", "bob@remote.test")
	}
	runOnce(t, e.runner(WithWorkers(1)))
	if n, c := len(f.messages()), f.connections(); n != 20 || c != 1 {
		t.Errorf("delivered %d over %d connections, want 20 over 1", n, c)
	}
}

// TestLocalBounceCountedAndTold: a bounce the runner delivers to a local
// sender counts as a bounce received by that user in the store, and the
// runner tells WithBounced who got it (smtpd checks for a bounce storm).
func TestLocalBounceCountedAndTold(t *testing.T) {
	e := newEnv(t)
	f := newFakeServer(t, nil)
	f.reject["bob@remote.test"] = true
	e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
	e.enqueue("alice@local.test", "bob@remote.test")
	var mu sync.Mutex
	var told []int64
	runOnce(t, e.runner(WithBounced(func(_ context.Context, users []int64) {
		mu.Lock()
		defer mu.Unlock()
		told = append(told, users...)
	})))
	mu.Lock()
	defer mu.Unlock()
	if len(told) != 1 || told[0] != e.alice {
		t.Errorf("told %v, want alice (#%d)", told, e.alice)
	}
	st, err := e.st.SendingState(context.Background(), "alice@local.test")
	if err != nil || st.Usage.Bounces != 1 {
		t.Errorf("alice's bounces this hour: %d (%v), want 1", st.Usage.Bounces, err)
	}
}

// TestBounceGoesWhereRcptWould: a bounce is routed by store.Route, as a
// RCPT TO of its sender is: this host's postmaster (also when the
// hostname has one label, or is no local domain) and local aliases reach
// the users and remote targets RCPT TO would reach, not the queue.
func TestBounceGoesWhereRcptWould(t *testing.T) {
	for _, tc := range []struct {
		host, sender string
		remote       string // the alias's remote target the bounce is queued for, if any
	}{
		{"localhost", "postmaster@localhost", ""},
		{"mx.local.test", "postmaster@mx.local.test", ""},
		{"mx.local.test", "postmaster@local.test", ""},
		{"mx.local.test", "sales@local.test", "ops@elsewhere.test"},
	} {
		t.Run(tc.sender, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			if err := e.st.AddAlias(ctx, "sales@local.test", "alice@local.test"); err != nil {
				t.Fatal(err)
			}
			if err := e.st.AddAlias(ctx, "sales@local.test", "ops@elsewhere.test"); err != nil {
				t.Fatal(err)
			}
			e.cfg.Hostname = tc.host
			f := newFakeServer(t, nil)
			f.reject["bob@remote.test"] = true
			e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
			e.enqueue(tc.sender, "bob@remote.test")
			runOnce(t, e.runner())

			rcpt, err := e.st.Route(ctx, tc.sender, tc.host)
			if err != nil || len(rcpt.Users) != 1 || rcpt.Users[0].ID != e.alice {
				t.Fatalf("RCPT TO:<%s> routes to %+v, %v; want alice", tc.sender, rcpt, err)
			}
			inbox := e.inbox()
			if len(inbox) != 1 || !strings.HasPrefix(inbox[0], "Return-Path: <>\r\n") {
				t.Fatalf("alice has %d messages, want the bounce", len(inbox))
			}
			var queued []string
			for _, m := range e.queued() {
				for _, rc := range m.Rcpts {
					queued = append(queued, rc.Rcpt)
				}
			}
			if strings.Join(queued, ",") != tc.remote || strings.Join(rcpt.Remote, ",") != tc.remote {
				t.Errorf("bounce queued for %q, RCPT routes remotely to %q; want %q", queued, rcpt.Remote, tc.remote)
			}
		})
	}
}
