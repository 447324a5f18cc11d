package queue

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"mailsuite/internal/dnstest"
	"mailsuite/store"
)

// dnsRunner is a runner built the way smtpd builds it, so its lookups go
// where dns.resolver says, with port 25 redirected to the test's servers.
func (e *testEnv) dnsRunner(server string, redirect map[string]string) *Runner {
	e.cfg.DNS.Resolver = server
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return New(e.cfg, e.st, log, WithClock(e.clock.Now), WithTimeouts(testTimeouts),
		WithPollInterval(20*time.Millisecond), WithDialer(&redirectDialer{to: redirect}))
}

func TestDeliveryFollowsMXFromTheConfiguredResolver(t *testing.T) {
	e := newEnv(t)
	f := newFakeServer(t, nil)
	srv := dnstest.Start(t,
		"far.test. 60 IN MX 10 in.far.test.",
		"in.far.test. 60 IN A 127.0.0.13",
	)
	e.enqueue("alice@local.test", "bob@far.test")
	runOnce(t, e.dnsRunner(srv.Addr, map[string]string{"127.0.0.13:25": f.addr}))
	if got := f.messages(); len(got) != 1 || got[0].to[0] != "bob@far.test" {
		t.Fatalf("remote got %+v, want one message for bob@far.test", got)
	}
	if srv.Queries("far.test", "MX") == 0 {
		t.Error("the configured DNS server saw no MX query")
	}
}

func TestDNSTroubleDefersAndNXDOMAINFails(t *testing.T) {
	e := newEnv(t)
	srv := dnstest.Start(t, "broken.test. 60 IN MX 10 in.broken.test.")
	srv.Fail("broken.test", dns.RcodeServerFailure)

	e.enqueue("alice@local.test", "bob@broken.test")
	runOnce(t, e.dnsRunner(srv.Addr, nil))
	rc := e.onlyRcpt()
	if rc.Status != store.RcptPending || rc.DSNStatus != "4.4.3" || !strings.Contains(rc.LastError, srv.Addr) {
		t.Fatalf("SERVFAIL: recipient %+v, want pending with 4.4.3, the error naming %s", rc, srv.Addr)
	}

	e2 := newEnv(t)
	e2.enqueue("alice@local.test", "bob@nowhere.test")
	runOnce(t, e2.dnsRunner(srv.Addr, nil))
	if in := e2.inbox(); len(in) != 1 || !strings.Contains(in[0], "Status: 5.1.2") {
		t.Fatalf("NXDOMAIN: sender's INBOX %q, want one bounce with status 5.1.2", in)
	}
}
