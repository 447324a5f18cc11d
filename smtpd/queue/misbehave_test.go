package queue

import (
	"bufio"
	"net"
	"strings"
	"testing"

	"mailsuite/store"
)

// TestMisbehavingServers runs one attempt against remotes that break the
// protocol in different ways and checks what is recorded. Only the cases
// that hang get shrunk timeouts: on a busy machine those would cut the
// others short too.
func TestMisbehavingServers(t *testing.T) {
	cases := []struct {
		name    string
		replies map[string]string
		status  string // store status after the attempt
		errHas  string // in last_error
	}{
		{"garbage greeting", map[string]string{"": "HTTP/1.1 400 Bad Request"}, store.RcptPending, "malformed"},
		{"garbage reply to MAIL", map[string]string{"MAIL": "hello there"}, store.RcptPending, "MAIL FROM"},
		{"dropped mid-DATA", map[string]string{"<data>": "<close>"}, store.RcptPending, "EOF"},
		{"dropped after end of data", map[string]string{".": "<close>"}, store.RcptPending, "end of data"},
		{"hangs at greeting", map[string]string{"": "<hang>"}, store.RcptPending, "timeout"},
		{"hangs after DATA", map[string]string{".": "<hang>"}, store.RcptPending, "timeout"},
		{"multi-line reject", map[string]string{"RCPT": "550-5.1.1 first line\n550-5.1.1 second line\n550 5.1.1 last line"},
			store.RcptFailed, "550 5.1.1 first line second line last line"},
		{"multi-line tempfail at end", map[string]string{".": "452-4.2.2 mailbox\n452 4.2.2 full"}, store.RcptPending, "452 4.2.2 mailbox full"},
		{"421 at RCPT", map[string]string{"RCPT": "421 4.3.2 shutting down"}, store.RcptPending, "421 4.3.2 shutting down"},
		{"broken STARTTLS", map[string]string{"EHLO": "250-script.test\n250 STARTTLS", "STARTTLS": "220 ready\nthis is not TLS"},
			store.RcptPending, "STARTTLS failed"},
		{"STARTTLS refused", map[string]string{"EHLO": "250-script.test\n250 STARTTLS", "STARTTLS": "454 4.7.0 TLS not available"},
			store.RcptPending, "STARTTLS failed"},
		{"no EHLO, HELO works", map[string]string{"EHLO": "502 5.5.1 what", "HELO": "250 hi"}, "", ""},
		{"5xx greeting", map[string]string{"": "554 5.7.1 go away"}, store.RcptPending, "554 5.7.1 go away"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			addr := scriptServer(t, converse(c.replies))
			e.cfg.SMTPD.Queue.Routes["remote.test"] = addr
			e.enqueue("alice@local.test", "bob@remote.test")
			var opts []Option
			if strings.HasPrefix(c.name, "hangs") {
				opts = append(opts, WithTimeouts(DefaultTimeouts().Scaled(0.001)))
			}
			runOnce(t, e.runner(opts...))
			q := e.queued()
			if c.status == "" {
				if len(q) != 0 {
					t.Fatalf("not delivered: %+v", q)
				}
				return
			}
			if c.status == store.RcptFailed {
				if len(q) != 0 || len(e.inbox()) != 1 {
					t.Fatalf("want a bounce and an empty queue: queue %+v, inbox %d", q, len(e.inbox()))
				}
				if !strings.Contains(e.logs.String(), c.errHas) {
					t.Errorf("log lacks %q", c.errHas)
				}
				return
			}
			rc := e.onlyRcpt()
			if rc.Status != c.status || rc.Attempts != 1 || !strings.Contains(rc.LastError, c.errHas) {
				t.Errorf("recipient = %+v, want %s with error containing %q", rc, c.status, c.errHas)
			}
		})
	}
}

func TestBrokenSTARTTLSWithPlainFallback(t *testing.T) {
	e := newEnv(t)
	addr := scriptServer(t, converse(map[string]string{
		"EHLO": "250-script.test\n250 STARTTLS", "STARTTLS": "220 ready\nthis is not TLS"}))
	e.cfg.SMTPD.Queue.Routes["remote.test"] = addr
	e.enqueue("alice@local.test", "bob@remote.test")
	runOnce(t, e.runner(WithPlainFallback(true)))
	if q := e.queued(); len(q) != 0 {
		t.Fatalf("not delivered in plain text: %+v", q)
	}
	if !strings.Contains(e.logs.String(), "tls=false") {
		t.Error("delivery not logged as without TLS")
	}
}

// TestSessionGoesOnAfterDrop: a server that drops the connection after
// the first message gets a new connection for the next one.
func TestSessionGoesOnAfterDrop(t *testing.T) {
	e := newEnv(t)
	addr := scriptServer(t, func(c net.Conn, br *bufio.Reader) {
		converse(map[string]string{".": "250 ok\n421 4.4.2 bye"})(c, br)
	})
	e.cfg.SMTPD.Queue.Routes["remote.test"] = addr
	e.enqueue("alice@local.test", "bob@remote.test")
	e.enqueue("alice@local.test", "bob@remote.test")
	runOnce(t, e.runner(WithWorkers(1)))
	if q := e.queued(); len(q) != 0 {
		t.Fatalf("queue = %+v, want both delivered", q)
	}
}
