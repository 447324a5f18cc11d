package resolve_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"mailsuite/internal/dnstest"
	"mailsuite/shared/resolve"
)

func TestLookupsGoToTheConfiguredServer(t *testing.T) {
	srv := dnstest.Start(t,
		"example.test. 300 IN MX 20 mx2.example.test.",
		"example.test. 300 IN MX 10 mx1.example.test.",
		"mx1.example.test. 300 IN A 127.0.0.5",
		"example.test. 300 IN TXT \"v=spf1 \" \"-all\"",
	)
	r := resolve.New(srv.Addr)
	ctx := context.Background()

	mxs, err := r.LookupMX(ctx, "example.test")
	if err != nil || len(mxs) != 2 || mxs[0].Host != "mx1.example.test." {
		t.Fatalf("LookupMX = %v, %v; want mx1 first of two", mxs, err)
	}
	addrs, err := r.LookupHost(ctx, "mx1.example.test")
	if err != nil || len(addrs) != 1 || addrs[0] != "127.0.0.5" {
		t.Fatalf("LookupHost = %v, %v", addrs, err)
	}
	txt, err := r.LookupTXT(ctx, "example.test")
	if err != nil || len(txt) != 1 || txt[0] != "v=spf1 -all" {
		t.Fatalf("LookupTXT = %q, %v; want the strings joined", txt, err)
	}
	if srv.Queries("example.test", "MX") == 0 {
		t.Fatal("the test server saw no MX query: the lookup went elsewhere")
	}
}

func TestLargeTXTComesOverTCP(t *testing.T) {
	srv := dnstest.Start(t)
	chunk := strings.Repeat("a", 255)
	var parts []string
	for range 200 { // about 51 KB: far past UDP, within one TCP message
		parts = append(parts, chunk)
	}
	srv.AddRR(&dns.TXT{Hdr: dns.RR_Header{Name: "big.example.test.", Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: parts})
	txt, err := resolve.New(srv.Addr).LookupTXT(context.Background(), "big.example.test")
	if err != nil || len(txt) != 1 || len(txt[0]) != 200*255 {
		t.Fatalf("LookupTXT of a large record: %d records, err %v", len(txt), err)
	}
}

func TestErrorsArePermanentOrTemporary(t *testing.T) {
	srv := dnstest.Start(t, "slow.example.test. 60 IN TXT \"x\"", "broken.example.test. 60 IN TXT \"x\"")
	srv.Delay("slow.example.test", 3*time.Second)
	srv.Fail("broken.example.test", dns.RcodeServerFailure)
	r := resolve.New(srv.Addr).WithTimeout(500 * time.Millisecond)
	ctx := context.Background()

	_, err := r.LookupTXT(ctx, "missing.example.test")
	if !resolve.IsNotFound(err) || resolve.IsTemporary(err) {
		t.Errorf("NXDOMAIN: err %v, want not found and not temporary", err)
	}
	_, err = r.LookupTXT(ctx, "slow.example.test")
	if err == nil || !resolve.IsTemporary(err) {
		t.Errorf("timeout: err %v, want temporary", err)
	}
	_, err = r.LookupTXT(ctx, "broken.example.test")
	if err == nil || !resolve.IsTemporary(err) {
		t.Errorf("SERVFAIL: err %v, want temporary", err)
	}
}
