package queue

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailsuite/internal/dnstest"
	"mailsuite/internal/testutil"
	"mailsuite/store"
)

// policyServer serves an MTA-STS policy over HTTPS on loopback and counts
// the fetches.
type policyServer struct {
	addr    string
	fetches atomic.Int32
}

func newPolicyServer(t *testing.T, cfg *tls.Config, handler func(w http.ResponseWriter, r *http.Request)) *policyServer {
	t.Helper()
	ps := &policyServer{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.fetches.Add(1)
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		handler(w, r)
	}))
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ps.addr = srv.Listener.Addr().String()
	return ps
}

func servePolicy(policy string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, policy)
	}
}

// stsSetup is far.test with MX in.far.test, an _mta-sts record, the
// policy host mta-sts.far.test and a test CA as tls.ca_file.
type stsSetup struct {
	e    *testEnv
	ca   *testutil.CA
	zone *dnstest.Server
}

func newSTSSetup(t *testing.T) *stsSetup {
	e := newEnv(t)
	ca := testutil.NewCA(t)
	e.cfg.TLS.CAFile = ca.File
	zone := dnstest.Start(t,
		"far.test. 60 IN MX 10 in.far.test.",
		"in.far.test. 60 IN A 127.0.0.13",
		`_mta-sts.far.test. 60 IN TXT "v=STSv1; id=20261130"`,
		"mta-sts.far.test. 60 IN A 127.0.0.20",
	)
	return &stsSetup{e: e, ca: ca, zone: zone}
}

// deliver queues one message for bob@far.test and runs the queue once
// with port 25 of in.far.test going to mx and port 443 of the policy
// host to ps.
func (s *stsSetup) deliver(t *testing.T, mx *fakeServer, ps *policyServer, opts ...Option) {
	t.Helper()
	s.e.enqueue("alice@local.test", "bob@far.test")
	r := s.e.dnsRunner(s.zone.Addr, map[string]string{"127.0.0.13:25": mx.addr, "127.0.0.20:443": ps.addr})
	for _, o := range opts {
		o(r)
	}
	runOnce(t, r)
}

const enforcePolicy = "version: STSv1\r\nmode: enforce\r\nmx: in.far.test\r\nmax_age: 86400\r\n"

func TestMTASTSEnforceDeliversOverVerifiedTLS(t *testing.T) {
	s := newSTSSetup(t)
	mx := newFakeServer(t, s.ca.ServerTLS(t, "in.far.test"))
	ps := newPolicyServer(t, s.ca.ServerTLS(t, "mta-sts.far.test"), servePolicy(enforcePolicy))
	s.e.enqueue("alice@local.test", "bob@far.test")
	r := s.e.dnsRunner(s.zone.Addr, map[string]string{"127.0.0.13:25": mx.addr, "127.0.0.20:443": ps.addr})
	runOnce(t, r)
	got := mx.messages()
	if len(got) != 1 || !got[0].tls {
		t.Fatalf("remote got %+v, want one message over TLS\n%s", got, s.e.logs)
	}
	// The policy is cached for its max_age: the next message fetches
	// nothing, though it still looks the TXT record up.
	s.e.enqueue("alice@local.test", "carl@far.test")
	runOnce(t, r)
	if n := len(mx.messages()); n != 2 || ps.fetches.Load() != 1 {
		t.Errorf("second message: %d delivered, %d policy fetches; want 2 and 1", n, ps.fetches.Load())
	}
	if s.zone.Queries("_mta-sts.far.test", "TXT") < 2 || s.zone.Queries("mta-sts.far.test", "A") == 0 {
		t.Errorf("the policy lookups did not go through the configured resolver")
	}
	// A new id in the TXT record fetches the policy again; so does the
	// end of its max_age (a day).
	s.zone.Remove("_mta-sts.far.test")
	s.zone.Add(t, `_mta-sts.far.test. 60 IN TXT "v=STSv1; id=2"`)
	s.e.enqueue("alice@local.test", "dora@far.test")
	runOnce(t, r)
	s.e.clock.Add(25 * time.Hour)
	s.e.enqueue("alice@local.test", "emil@far.test")
	runOnce(t, r)
	if n := len(mx.messages()); n != 4 || ps.fetches.Load() != 3 {
		t.Errorf("after a new id and after max_age: %d delivered, %d policy fetches; want 4 and 3", n, ps.fetches.Load())
	}
}

// TestMTASTSCachedPolicyOutlivesItsRecord: once fetched, an enforce
// policy holds for its max_age even when the TXT record disappears (an
// attacker stripping it from DNS answers gains nothing, RFC 8461 §5.1).
func TestMTASTSCachedPolicyOutlivesItsRecord(t *testing.T) {
	s := newSTSSetup(t)
	good := newFakeServer(t, s.ca.ServerTLS(t, "in.far.test"))
	ps := newPolicyServer(t, s.ca.ServerTLS(t, "mta-sts.far.test"), servePolicy(enforcePolicy))
	redirect := map[string]string{"127.0.0.13:25": good.addr, "127.0.0.20:443": ps.addr}
	r := s.e.dnsRunner(s.zone.Addr, redirect)
	s.e.enqueue("alice@local.test", "bob@far.test")
	runOnce(t, r)
	if len(good.messages()) != 1 {
		t.Fatalf("first message not delivered:\n%s", s.e.logs)
	}
	s.zone.Remove("_mta-sts.far.test")
	redirect["127.0.0.13:25"] = newFakeServer(t, nil).addr // now without STARTTLS
	s.e.enqueue("alice@local.test", "carl@far.test")
	runOnce(t, r)
	if rc := s.e.onlyRcpt(); rc.Status != store.RcptPending || !strings.Contains(rc.LastError, "requires TLS") {
		t.Fatalf("recipient %+v, want pending: the cached policy still requires TLS", rc)
	}
}

func TestMTASTSEnforceRefusesMXNotInPolicy(t *testing.T) {
	s := newSTSSetup(t)
	mx := newFakeServer(t, s.ca.ServerTLS(t, "in.far.test"))
	ps := newPolicyServer(t, s.ca.ServerTLS(t, "mta-sts.far.test"),
		servePolicy("version: STSv1\nmode: enforce\nmx: mx.far.test\nmx: *.mail.far.test\nmax_age: 86400\n"))
	s.deliver(t, mx, ps)
	if rc := s.e.onlyRcpt(); rc.Status != store.RcptPending || rc.DSNStatus != "4.7.5" || !strings.Contains(rc.LastError, "MTA-STS") {
		t.Fatalf("recipient %+v, want pending with 4.7.5 naming MTA-STS", rc)
	}
	if mx.connections() != 0 {
		t.Errorf("the MX the policy does not name was connected to")
	}
}

func TestMTASTSEnforceRefusesBadCertificateWithoutPlaintext(t *testing.T) {
	s := newSTSSetup(t)
	other := testutil.NewCA(t) // not the trust store's
	for name, tc := range map[string]struct {
		mx   *fakeServer
		want string
	}{
		"unknown CA":  {newFakeServer(t, other.ServerTLS(t, "in.far.test")), "certificate signed by unknown authority"},
		"wrong name":  {newFakeServer(t, s.ca.ServerTLS(t, "elsewhere.test")), "not in.far.test"},
		"no STARTTLS": {newFakeServer(t, nil), "requires TLS: no STARTTLS offered"},
	} {
		t.Run(name, func(t *testing.T) {
			s.e = newEnv(t)
			s.e.cfg.TLS.CAFile = s.ca.File
			ps := newPolicyServer(t, s.ca.ServerTLS(t, "mta-sts.far.test"), servePolicy(enforcePolicy))
			s.deliver(t, tc.mx, ps, WithPlainFallback(true))
			if rc := s.e.onlyRcpt(); rc.Status != store.RcptPending || !strings.HasPrefix(rc.DSNStatus, "4.") || !strings.Contains(rc.LastError, tc.want) {
				t.Fatalf("recipient %+v, want pending, the error saying %q", rc, tc.want)
			}
			if got := tc.mx.messages(); len(got) != 0 {
				t.Fatalf("delivered %+v despite the enforced policy", got)
			}
		})
	}
}

func TestMTASTSTestingOnlyLogs(t *testing.T) {
	s := newSTSSetup(t)
	mx := newFakeServer(t, testutil.NewCA(t).ServerTLS(t, "in.far.test"))
	ps := newPolicyServer(t, s.ca.ServerTLS(t, "mta-sts.far.test"),
		servePolicy("version: STSv1\nmode: testing\nmx: mx.far.test\nmax_age: 86400\n"))
	s.deliver(t, mx, ps)
	if got := mx.messages(); len(got) != 1 || !got[0].tls {
		t.Fatalf("remote got %+v, want one message over TLS under testing", got)
	}
	for _, want := range []string{"MTA-STS testing: MX host not in the policy", "MTA-STS testing: certificate would be refused"} {
		if !strings.Contains(s.e.logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, s.e.logs)
		}
	}
}

// TestMTASTSBadPolicyIsNoPolicy: a policy that is too large, served by a
// server that does not answer in time, over a certificate the trust store
// does not accept, or malformed, is no policy (RFC 8461 §5): the message
// goes as without MTA-STS, and the log says why.
func TestMTASTSBadPolicyIsNoPolicy(t *testing.T) {
	ca := testutil.NewCA(t)
	for name, tc := range map[string]struct {
		cert    *tls.Config
		handler func(w http.ResponseWriter, r *http.Request)
		log     string
	}{
		"too large": {handler: servePolicy(enforcePolicy + strings.Repeat("x-pad: 0123456789abcdef\n", 3000)), log: "policy larger than"},
		"slow":      {handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, log: "Client.Timeout"},
		"untrusted": {cert: ca.ServerTLS(t, "mta-sts.far.test"), handler: servePolicy(enforcePolicy), log: "certificate"},
		"malformed": {handler: servePolicy("version: STSv1\nmode: strict\n"), log: "bad mode"},
		"redirect": {handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.test/", http.StatusFound)
		}, log: "HTTP status 302"},
		"html": {handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, enforcePolicy)
		}, log: "want text/plain"},
	} {
		t.Run(name, func(t *testing.T) {
			s := newSTSSetup(t)
			cert := tc.cert
			if cert == nil {
				cert = s.ca.ServerTLS(t, "mta-sts.far.test")
			}
			mx := newFakeServer(t, nil)
			ps := newPolicyServer(t, cert, tc.handler)
			s.deliver(t, mx, ps)
			if got := mx.messages(); len(got) != 1 {
				t.Fatalf("remote got %d messages, want one sent without a policy\n%s", len(got), s.e.logs)
			}
			if !strings.Contains(s.e.logs.String(), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, s.e.logs)
			}
		})
	}
}
