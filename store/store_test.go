package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openTest(t testing.TB, opts ...Option) *Store {
	t.Helper()
	return openTestOn(t, testDriver(), opts...)
}

// openTestOn opens a new store on the given backend.
func openTestOn(t testing.TB, driver string, opts ...Option) *Store {
	t.Helper()
	s, err := openSource(sourceOn(t, driver), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// seed makes example.com with user a@example.com.
func seed(t testing.TB, s *Store) User {
	t.Helper()
	ctx := context.Background()
	if err := s.AddDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(ctx, "a@example.com", "hash", true); err != nil {
		t.Fatal(err)
	}
	u, err := s.UserByAddress(ctx, "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestOpenMissingDir(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "nope", "mail.db"))
	if err == nil || !strings.Contains(err.Error(), "data_dir") {
		t.Fatalf("err = %v, want a hint about data_dir", err)
	}
}

func TestOpenNotSQLite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mail.db")
	os.WriteFile(p, []byte(strings.Repeat("this is not a database\n", 100)), 0o600)
	_, err := Open(p)
	if err == nil || !strings.Contains(err.Error(), "not a mailsuite store") {
		t.Fatalf("err = %v", err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	p := testSource(t)
	s, err := openSource(p)
	if err != nil {
		t.Fatal(err)
	}
	setUserVersion(t, s, 999)
	s.Close()
	_, err = openSource(p)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("err = %v, want newer-schema error", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	p := testSource(t)
	s, err := openSource(p)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, s)
	s.Close()
	s, err = openSource(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.UserByAddress(context.Background(), "a@example.com"); err != nil {
		t.Fatal(err)
	}
}

func TestUserGetsDefaultMailboxes(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	mbs, err := s.Mailboxes(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range mbs {
		got[m.Name] = m.SpecialUse
	}
	for _, want := range DefaultMailboxes {
		if su, ok := got[want.Name]; !ok || su != want.SpecialUse {
			t.Errorf("mailbox %s: got %q present=%v", want.Name, su, ok)
		}
	}
	seen := map[uint32]bool{}
	for _, m := range mbs {
		if seen[m.UIDValidity] {
			t.Errorf("UIDVALIDITY %d reused", m.UIDValidity)
		}
		seen[m.UIDValidity] = true
	}
}

func TestAcceptAndChanges(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := seed(t, s)
	start, _ := s.LastChange(ctx)
	body := []byte("Subject: hi\r\n\r\nhello\r\n")
	if err := s.Accept(ctx, Envelope{From: "x@remote.test", Local: []int64{u.ID}, Remote: []string{"b@remote.test"}}, body); err != nil {
		t.Fatal(err)
	}
	inbox, _ := s.MailboxByName(ctx, u.ID, "INBOX")
	msgs, _ := s.Messages(ctx, inbox.ID)
	if len(msgs) != 1 || msgs[0].UID != 1 || msgs[0].Size != int64(len(body)) {
		t.Fatalf("messages = %+v", msgs)
	}
	got, _ := s.MessageBody(ctx, inbox.ID, 1)
	if string(got) != string(body) {
		t.Fatalf("body = %q", got)
	}
	ch, _ := s.ChangesSince(ctx, start, 10)
	if len(ch) != 1 || ch[0].Kind != ChangeNew || ch[0].MailboxID != inbox.ID || ch[0].UID != 1 {
		t.Fatalf("changes = %+v", ch)
	}
	if err := s.Expunge(ctx, inbox.ID, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	// UIDs are never reused.
	s.Accept(ctx, Envelope{Local: []int64{u.ID}}, body)
	msgs, _ = s.Messages(ctx, inbox.ID)
	if len(msgs) != 1 || msgs[0].UID != 2 {
		t.Fatalf("after expunge: %+v", msgs)
	}
	var n int
	s.r.QueryRow(`SELECT count(*) FROM queue_rcpts WHERE rcpt = 'b@remote.test'`).Scan(&n)
	if n != 1 {
		t.Fatalf("queued recipients = %d", n)
	}
}

func TestGrantExpiry(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := openTest(t, WithClock(c.now))
	u := seed(t, s)
	if err := s.Grant(ctx, "::ffff:127.0.0.2", u.ID, 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	live := func(ip string) int {
		g, err := s.LiveGrants(ctx, ip)
		if err != nil {
			t.Fatal(err)
		}
		return len(g)
	}
	if live("127.0.0.2") != 1 || live("127.0.0.3") != 0 {
		t.Fatal("grant not keyed by IP")
	}
	c.t = c.t.Add(29 * time.Minute)
	if live("127.0.0.2") != 1 {
		t.Fatal("grant expired early")
	}
	s.Grant(ctx, "127.0.0.2", u.ID, 30*time.Minute) // refresh
	c.t = c.t.Add(29 * time.Minute)
	if live("127.0.0.2") != 1 {
		t.Fatal("refresh did not extend the grant")
	}
	c.t = c.t.Add(2 * time.Minute)
	if live("127.0.0.2") != 0 {
		t.Fatal("grant outlived its window")
	}
}

// TestGrantRefreshSlack: a login within a sixtieth of the window of the
// last refresh leaves the grant as it is (no write); a later one, or any
// one that would move a short window's expiry, extends it.
func TestGrantRefreshSlack(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := openTest(t, WithClock(c.now))
	u := seed(t, s)
	expiry := func() int64 {
		g, err := s.LiveGrants(ctx, "127.0.0.2")
		if err != nil || len(g) != 1 {
			t.Fatalf("grants %v, %v", g, err)
		}
		return g[0].Expires.Unix()
	}
	grant := func(window time.Duration) {
		if err := s.Grant(ctx, "127.0.0.2", u.ID, window); err != nil {
			t.Fatal(err)
		}
	}
	start := c.t.Unix()
	grant(30 * time.Minute)
	c.t = c.t.Add(20 * time.Second)
	grant(30 * time.Minute)
	if got := expiry(); got != start+1800 {
		t.Fatalf("refresh within 30 s rewrote the grant: expires %+d s", got-start)
	}
	c.t = c.t.Add(15 * time.Second)
	grant(30 * time.Minute)
	if got := expiry(); got != start+35+1800 {
		t.Fatalf("refresh after 35 s: expires %+d s, want %+d", got-start, 35+1800)
	}
	c.t = c.t.Add(time.Second)
	grant(2 * time.Second) // a shorter window takes effect at once
	if got := expiry(); got != start+36+2 {
		t.Fatalf("2 s window after a 30 min one: expires %+d s, want %+d", got-start, 36+2)
	}
	c.t = c.t.Add(time.Second)
	grant(2 * time.Second) // and moves by every second
	if got := expiry(); got != start+37+2 {
		t.Fatalf("2 s window refreshed after 1 s: expires %+d s, want %+d", got-start, 37+2)
	}
}

func TestAliases(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := seed(t, s)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.AddAlias(ctx, "sales@example.com", "a@example.com"))
	must(s.AddAlias(ctx, "all@example.com", "sales@example.com"))
	must(s.AddAlias(ctx, "all@example.com", "friend@remote.test"))
	r, err := s.resolve(ctx, "all@example.com")
	must(err)
	if len(r.Users) != 1 || r.Users[0].ID != u.ID || len(r.Remote) != 1 || r.Remote[0] != "friend@remote.test" {
		t.Fatalf("resolve = %+v", r)
	}
	if err := s.AddAlias(ctx, "sales@example.com", "all@example.com"); !errors.Is(err, ErrAliasLoop) {
		t.Fatalf("loop: err = %v", err)
	}
	as, _ := s.AliasesOf(ctx, "a@example.com")
	if strings.Join(as, ",") != "sales@example.com,all@example.com" {
		t.Fatalf("aliases of = %v", as)
	}
	r, _ = s.resolve(ctx, "postmaster@example.com")
	if len(r.Users) != 1 {
		t.Fatalf("postmaster not routed to first user: %+v", r)
	}
	r, _ = s.resolve(ctx, "nobody@example.com")
	if !r.Empty() {
		t.Fatalf("unknown resolved: %+v", r)
	}
	if err := s.RemoveDomain(ctx, "example.com"); !errors.Is(err, ErrDomainInUse) {
		t.Fatalf("remove domain in use: %v", err)
	}
}

func TestCredential(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	seed(t, s)
	c, err := s.Credential(ctx, "A@Example.COM")
	if err != nil || c.Kind != CredUser || c.Name != "a@example.com" {
		t.Fatalf("user cred = %+v, %v", c, err)
	}
	if _, err := s.Credential(ctx, "example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("domain cred without password: %v", err)
	}
	s.SetDomainCredential(ctx, "example.com", "dhash")
	c, err = s.Credential(ctx, "example.com")
	if err != nil || c.Kind != CredDomain || c.Hash != "dhash" {
		t.Fatalf("domain cred = %+v, %v", c, err)
	}
}

func TestCanonAddress(t *testing.T) {
	good := map[string]string{
		"A.B@Example.COM":        "a.b@example.com",
		"x@bücher.example":       "x@xn--bcher-kva.example",
		"x+tag@sub.example.org.": "x+tag@sub.example.org",
	}
	for in, want := range good {
		if got, err := CanonAddress(in); err != nil || got != want {
			t.Errorf("CanonAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{"a@@b.com", "@b.com", "a@", "a", "a@b", `"a@x"@b.com`, "a%x@b.com", "a!b@c.com",
		strings.Repeat("x", 65) + "@b.com", "a..b@c.com", "a b@c.com", "a\x00@b.com", "@a:b@c.com"}
	for _, in := range bad {
		if got, err := CanonAddress(in); err == nil {
			t.Errorf("CanonAddress(%q) = %q, want error", in, got)
		}
	}
}

func FuzzCanonAddress(f *testing.F) {
	for _, s := range []string{"a@example.com", "x@bücher.example", "0@\xc7.0", "a%b@c.d", `"q"@x.y`, "@a:b@c.d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := CanonAddress(s)
		if err != nil {
			return
		}
		// Canonical output is stable and parses back to itself.
		if b, err := CanonAddress(a); err != nil || b != a {
			t.Fatalf("CanonAddress(%q) = %q, but again = %q, %v", s, a, b, err)
		}
	})
}
