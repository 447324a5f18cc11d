package main

import (
	"context"
	"testing"
	"time"

	"github.com/miekg/dns"

	"mailsuite/internal/dnstest"
	"mailsuite/internal/testutil"
	"mailsuite/shared/resolve"
)

// TestTXTCache: an answer (records or no such record) is asked once per
// txtCacheFor; a server failure is asked again every time.
func TestTXTCache(t *testing.T) {
	srv := dnstest.Start(t, `a.test. 60 IN TXT "v=spf1 -all"`, `broken.test. 60 IN TXT "x"`)
	srv.Fail("broken.test", dns.RcodeServerFailure)
	clock := testutil.NewClock(time.Now())
	r := newTXTResolver(resolve.New(srv.Addr).WithTimeout(testLookupTimeout))
	r.now = clock.Now
	ctx := context.Background()
	lookup := func(name string) error {
		t.Helper()
		_, err := r.LookupTXT(ctx, name)
		return err
	}

	for range 3 {
		if err := lookup("a.test"); err != nil {
			t.Fatal(err)
		}
		if err := lookup("missing.test"); !resolve.IsNotFound(err) {
			t.Fatalf("missing.test: %v, want not found", err)
		}
		if err := lookup("broken.test"); err == nil || !resolve.IsTemporary(err) {
			t.Fatalf("broken.test: %v, want a temporary error", err)
		}
	}
	if a, m, b := srv.Queries("a.test", "TXT"), srv.Queries("missing.test", "TXT"), srv.Queries("broken.test", "TXT"); a != 1 || m != 1 || b < 3 {
		t.Fatalf("queries: a.test %d, missing.test %d, broken.test %d; want 1, 1, at least 3", a, m, b)
	}
	clock.Add(txtCacheFor)
	lookup("a.test")
	if n := srv.Queries("a.test", "TXT"); n != 2 {
		t.Fatalf("a.test asked %d times after txtCacheFor, want 2", n)
	}
}
