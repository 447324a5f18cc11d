package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"mailsuite/shared/dkimkey"
)

// keygenRecord runs dkim keygen and parses the zone-file line it prints.
func (e *testEnv) keygenRecord(args ...string) (note string, txt *dns.TXT) {
	e.t.Helper()
	out := e.ok("", append([]string{"dkim", "keygen"}, args...)...)
	ls := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(ls) != 2 || !strings.HasPrefix(ls[0], "; ") {
		e.t.Fatalf("dkim keygen %q printed %q, want a comment and a record", args, out)
	}
	rr, err := dns.NewRR(ls[1])
	if err != nil {
		e.t.Fatalf("dkim keygen %q: the record %q does not parse: %v", args, ls[1], err)
	}
	txt, ok := rr.(*dns.TXT)
	if !ok {
		e.t.Fatalf("dkim keygen %q: %T, want TXT", args, rr)
	}
	return ls[0], txt
}

// TestDKIMKeygenPrintsTheStoredKeysRecord: the record printed publishes
// the public half of the private key the store keeps, RSA-2048 by
// default, Ed25519 raw (RFC 8463).
func TestDKIMKeygenPrintsTheStoredKeysRecord(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "Example.COM")
	note, txt := e.keygenRecord("example.com")
	sel := "rsa-" + time.Now().UTC().Format("20060102")
	if txt.Hdr.Name != sel+"._domainkey.example.com." || !strings.Contains(note, "signs with this rsa key now") {
		t.Errorf("record name %s, note %q", txt.Hdr.Name, note)
	}
	_, edTxt := e.keygenRecord("example.com", "--algorithm", "ed25519", "--selector", "Ed1")
	if edTxt.Hdr.Name != "ed1._domainkey.example.com." {
		t.Errorf("ed25519 record name %s", edTxt.Hdr.Name)
	}

	keys, err := e.openStore().DKIMKeys(context.Background(), "example.com")
	if err != nil || len(keys) != 2 {
		t.Fatalf("stored keys %v, %v; want two", keys, err)
	}
	for _, k := range keys {
		rec := txt
		if k.Algorithm == dkimkey.Ed25519 {
			rec = edTxt
		}
		value := strings.Join(rec.Txt, "")
		p, ok := strings.CutPrefix(value, "v=DKIM1; k="+k.Algorithm+"; p=")
		if !ok {
			t.Fatalf("record %q", value)
		}
		pub, err := base64.StdEncoding.DecodeString(p)
		if err != nil {
			t.Fatal(err)
		}
		priv, err := dkimkey.Parse(k.Algorithm, k.Private)
		if err != nil {
			t.Fatal(err)
		}
		switch key := priv.(type) {
		case *rsa.PrivateKey:
			got, err := x509.ParsePKIXPublicKey(pub)
			if err != nil || !key.PublicKey.Equal(got) || key.N.BitLen() != 2048 {
				t.Errorf("RSA record does not publish the stored 2048-bit key (%v)", err)
			}
			if len(rec.Txt) < 2 {
				t.Errorf("an RSA-2048 record needs two strings of at most 255 bytes, got %d", len(rec.Txt))
			}
		case ed25519.PrivateKey:
			if !key.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(pub)) {
				t.Errorf("Ed25519 record does not publish the stored key")
			}
		}
	}
}

// TestDKIMRotation: a new key waits inactive until "dkim use"; the active
// key is not removed without --force.
func TestDKIMRotation(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.keygenRecord("example.com", "--selector", "old")
	note, _ := e.keygenRecord("example.com", "--selector", "new")
	if !strings.Contains(note, "not signing yet") || !strings.Contains(note, "mailctl dkim use example.com new") {
		t.Errorf("second key's note %q, want it to say how to make it active", note)
	}
	list := func() string {
		var b strings.Builder
		for _, l := range strings.Split(strings.TrimSuffix(e.ok("", "dkim", "list"), "\n"), "\n") {
			f := strings.Split(l, "\t")
			if len(f) != 5 {
				t.Fatalf("dkim list line %q: want 5 fields", l)
			}
			if _, err := time.Parse(time.RFC3339, f[4]); err != nil {
				t.Errorf("created %q: %v", f[4], err)
			}
			b.WriteString(strings.Join(f[:4], " ") + "\n")
		}
		return b.String()
	}
	if got, want := list(), lines("example.com new rsa inactive", "example.com old rsa active"); got != want {
		t.Errorf("dkim list = %q, want %q", got, want)
	}
	e.fail(1, "example.com signs with key old", "", "dkim", "rm", "example.com", "old")
	e.ok("", "dkim", "use", "example.com", "new")
	if got, want := list(), lines("example.com new rsa active", "example.com old rsa inactive"); got != want {
		t.Errorf("after use: dkim list = %q, want %q", got, want)
	}
	e.ok("", "dkim", "rm", "example.com", "old")
	e.ok("", "dkim", "rm", "example.com", "new", "--force")
	if got := e.ok("", "dkim", "list"); got != "" {
		t.Errorf("after rm: dkim list = %q", got)
	}
	rows := e.listJSON("dkim", "list", "example.com")
	if len(rows) != 0 {
		t.Errorf("json: %v", rows)
	}
	e.keygenRecord("example.com", "--algorithm", "ed25519", "--selector", "e")
	rows = e.listJSON("dkim", "list")
	if len(rows) != 1 || rows[0]["selector"] != "e" || rows[0]["active"] != true ||
		!strings.HasPrefix(rows[0]["record"].(string), "v=DKIM1; k=ed25519; p=") {
		t.Errorf("dkim list --json = %v", rows)
	}
}

func TestDKIMBadInput(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.keygenRecord("example.com", "--selector", "s1")
	e.fail(1, "already has a key with selector s1", "", "dkim", "keygen", "example.com", "--selector", "s1")
	e.fail(1, "unknown domain nope.test", "", "dkim", "keygen", "nope.test")
	e.fail(1, "unknown domain nope.test", "", "dkim", "list", "nope.test")
	e.fail(2, "use rsa or ed25519", "", "dkim", "keygen", "example.com", "--algorithm", "dsa")
	e.fail(2, "invalid selector", "", "dkim", "keygen", "example.com", "--selector", "a b")
	e.fail(2, "invalid selector", "", "dkim", "keygen", "example.com", "--selector", "-x")
	e.fail(1, "no DKIM key with selector s2", "", "dkim", "use", "example.com", "s2")
	e.fail(1, "no DKIM key with selector s2", "", "dkim", "rm", "example.com", "s2", "--force")
	e.fail(2, "does not take --force", "", "dkim", "use", "example.com", "s1", "--force")
	e.fail(2, "does not take --selector", "", "dkim", "list", "--selector", "x")
}
