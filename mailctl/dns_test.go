package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"mailsuite/internal/dnstest"
	"mailsuite/internal/testutil"
)

// dnsEnv is a store with example.com, an RSA and an Ed25519 DKIM key,
// and a configuration whose resolver is a DNS server on loopback that so
// far knows only the host's address and its PTR.
func dnsEnv(t *testing.T) (*testEnv, *dnstest.Server, *policyHost) {
	e := newEnv(t)
	zone := dnstest.Start(t,
		"mail.example.com. 300 IN A 127.0.0.7",
		"7.0.0.127.in-addr.arpa. 300 IN PTR mail.example.com.",
		"mta-sts.example.com. 300 IN A "+policyIP,
	)
	ca := testutil.NewCA(t)
	ph := servePolicy(t, ca, goodPolicy)
	e.writeConfig(fmt.Sprintf("hostname = \"mail.example.com\"\ndata_dir = \"data\"\n[tls]\nca_file = %q\n[dns]\nresolver = %q\n", ca.File, zone.Addr))
	e.ok("", "domain", "add", "example.com")
	e.keygenRecord("example.com", "--selector", "r1")
	e.keygenRecord("example.com", "--selector", "e1", "--algorithm", "ed25519")
	return e, zone, ph
}

// policyIP is where the test's MTA-STS policy host listens, on port 443
// as senders expect: an address of the loopback network no other test
// uses.
const policyIP = "127.0.86.43"

const goodPolicy = "version: STSv1\nmode: testing\nmx: mail.example.com\nmax_age: 604800\n"

// policyHost serves the MTA-STS policy of example.com; body "" answers
// 404.
type policyHost struct{ body atomic.Pointer[string] }

func (p *policyHost) set(body string) { p.body.Store(&body) }

// servePolicy serves body as the MTA-STS policy of example.com over HTTPS
// at policyIP:443, with a certificate from ca. Port 443 needs root (CI
// runs as root); elsewhere the test is skipped.
func servePolicy(t *testing.T, ca *testutil.CA, body string) *policyHost {
	t.Helper()
	ph := &policyHost{}
	ph.set(body)
	ln, err := net.Listen("tcp", policyIP+":443")
	if errors.Is(err, os.ErrPermission) {
		t.Skipf("listen on %s:443: %v (needs root, as in CI)", policyIP, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		TLSConfig: ca.ServerTLS(t, "mta-sts.example.com"),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body := *ph.body.Load()
			if body == "" || r.URL.Path != "/.well-known/mta-sts.txt" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, body)
		}),
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ph
}

// publish adds the records "dns records" prints to zone, except those
// for which skip is true. The CNAME of the MTA-STS host is left out: the
// test zone gives mta-sts.example.com an address of its own.
func publish(t *testing.T, e *testEnv, zone *dnstest.Server, skip func(rr dns.RR) bool) {
	for _, l := range strings.Split(e.ok("", "dns", "records", "example.com"), "\n") {
		if l == "" || strings.HasPrefix(l, ";") {
			continue
		}
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("dns records printed %q, which is no zone-file record: %v", l, err)
		}
		if _, cname := rr.(*dns.CNAME); cname || rr.Header().Name == "mail.example.com." || (skip != nil && skip(rr)) {
			continue
		}
		zone.AddRR(rr)
	}
}

// checkLines runs dns check and returns its exit code and its lines by
// "NAME TYPE".
func checkLines(t *testing.T, e *testEnv) (int, map[string]string) {
	out, errs, code := e.exec("", "dns", "check", "example.com")
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		f := strings.Split(l, "\t")
		if len(f) != 4 {
			t.Fatalf("dns check line %q: want STATUS NAME TYPE DETAIL", l)
		}
		got[f[1]+" "+f[2]] = f[0] + " " + f[3]
	}
	if code != 0 && !strings.Contains(errs, "missing or not looked up") {
		t.Errorf("dns check failed with stderr %q", errs)
	}
	return code, got
}

func TestDNSRecordsListsEverything(t *testing.T) {
	e, _, _ := dnsEnv(t)
	out := e.ok("", "dns", "records", "example.com")
	for _, want := range []string{
		"example.com. 3600 IN MX 10 mail.example.com.",
		"mail.example.com. 3600 IN A 127.0.0.7",
		"7.0.0.127.in-addr.arpa. 3600 IN PTR mail.example.com.",
		"example.com. 3600 IN TXT \"v=spf1 mx -all\"",
		"r1._domainkey.example.com. 3600 IN TXT \"v=DKIM1; k=rsa; p=",
		"e1._domainkey.example.com. 3600 IN TXT \"v=DKIM1; k=ed25519; p=",
		"_dmarc.example.com. 3600 IN TXT \"v=DMARC1; p=quarantine; rua=mailto:postmaster@example.com\"",
		"_mta-sts.example.com. 3600 IN TXT \"v=STSv1; id=",
		"mta-sts.example.com. 3600 IN CNAME mail.example.com.",
		";     version: STSv1\n;     mode: testing\n;     mx: mail.example.com\n;     max_age: 604800\n",
		"ask the provider of 127.0.0.7",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dns records lacks %q:\n%s", want, out)
		}
	}
	e.fail(1, "unknown domain nope.test", "", "dns", "records", "nope.test")
}

func TestDNSCheckCompleteZone(t *testing.T) {
	e, zone, _ := dnsEnv(t)
	publish(t, e, zone, nil)
	code, got := checkLines(t, e)
	if code != 0 || len(got) != 10 {
		t.Fatalf("dns check: exit %d, %d lines, want 0 and 10: %v", code, len(got), got)
	}
	for k, v := range got {
		if !strings.HasPrefix(v, "present ") {
			t.Errorf("%s: %s, want present", k, v)
		}
	}
	if got["example.com. MX"] != "present 10 mail.example.com." || got["mta-sts.example.com. CNAME"] != "present "+policyIP ||
		got["https://mta-sts.example.com/.well-known/mta-sts.txt POLICY"] != "present mode testing, mx mail.example.com" {
		t.Errorf("lines %v", got)
	}
}

func TestDNSCheckMissingDKIM(t *testing.T) {
	e, zone, _ := dnsEnv(t)
	publish(t, e, zone, func(rr dns.RR) bool { return strings.HasSuffix(rr.Header().Name, "._domainkey.example.com.") })
	code, got := checkLines(t, e)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, sel := range []string{"r1", "e1"} {
		if v := got[sel+"._domainkey.example.com. TXT"]; !strings.HasPrefix(v, "missing want v=DKIM1;") {
			t.Errorf("%s: %q, want missing", sel, v)
		}
	}
	if v := got["example.com. MX"]; !strings.HasPrefix(v, "present") {
		t.Errorf("MX %q", v)
	}
}

func TestDNSCheckDifferentSPF(t *testing.T) {
	e, zone, _ := dnsEnv(t)
	publish(t, e, zone, func(rr dns.RR) bool { return rr.Header().Name == "example.com." && rr.Header().Rrtype == dns.TypeTXT })
	zone.Add(t, `example.com. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"`)
	zone.Add(t, `example.com. 300 IN TXT "google-site-verification=abc"`)
	code, got := checkLines(t, e)
	if code != 0 {
		t.Errorf("exit %d, want 0: a different record is reported, not missing", code)
	}
	if v, want := got["example.com. TXT"], "different want v=spf1 mx -all, found v=spf1 ip4:192.0.2.1 -all"; v != want {
		t.Errorf("SPF: %q, want %q", v, want)
	}
}

func TestDNSCheckLookupFailure(t *testing.T) {
	e, zone, _ := dnsEnv(t)
	publish(t, e, zone, nil)
	zone.Fail("_dmarc.example.com", dns.RcodeServerFailure)
	code, got := checkLines(t, e)
	if v := got["_dmarc.example.com. TXT"]; code != 1 || !strings.HasPrefix(v, "failed ") || !strings.Contains(v, zone.Addr) {
		t.Errorf("SERVFAIL: exit %d, line %q; want 1 and failed naming %s", code, v, zone.Addr)
	}
}

// TestDNSCheckPolicyFile: the MTA-STS policy file is fetched over HTTPS
// as a sender would: one that names another MX is different, one that is
// not served is missing.
func TestDNSCheckPolicyFile(t *testing.T) {
	e, zone, ph := dnsEnv(t)
	publish(t, e, zone, nil)
	const key = "https://mta-sts.example.com/.well-known/mta-sts.txt POLICY"
	for _, tc := range []struct {
		name, body, want string
		code             int
	}{
		{"names another MX", "version: STSv1\nmode: enforce\nmx: mx.elsewhere.test\nmax_age: 60\n", "different mode enforce, mx mx.elsewhere.test: does not name mail.example.com", 0},
		{"not served", "", "missing https://mta-sts.example.com/.well-known/mta-sts.txt: HTTP status 404", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ph.set(tc.body)
			code, got := checkLines(t, e)
			if code != tc.code || got[key] != tc.want {
				t.Errorf("exit %d, policy line %q; want %d, %q", code, got[key], tc.code, tc.want)
			}
		})
	}
}
