package store

import (
	"context"
	"os"
	"testing"
)

// TestCredentialStamp: every credential change moves the stamp, other
// writes do not, and a store without a stamp file gets one at open.
func TestCredentialStamp(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	if s.postgres() {
		// A file would not see other hosts' changes: every check is full.
		if s.CredentialStamp().Known() {
			t.Fatal("a PostgreSQL store has a known credential stamp")
		}
		t.Skip("SQLite only: the stamp is a file beside mail.db")
	}
	ctx := context.Background()
	if err := s.AddDomain(ctx, "other.test"); err != nil {
		t.Fatal(err)
	}
	changes := []struct {
		name string
		do   func() error
	}{
		{"password", func() error { return s.SetUserPassword(ctx, u.Address, "new-hash") }},
		{"smtp off", func() error { return s.SetUserSMTP(ctx, u.Address, false) }},
		{"domain credential", func() error { return s.SetDomainCredential(ctx, "other.test", "h") }},
		{"remove user", func() error { return s.RemoveUser(ctx, u.Address) }},
	}
	for _, c := range changes {
		before := s.CredentialStamp()
		if !before.Known() {
			t.Fatalf("%s: no stamp before", c.name)
		}
		if err := c.do(); err != nil {
			t.Fatal(err)
		}
		if after := s.CredentialStamp(); after == before || !after.Known() {
			t.Errorf("%s did not move the stamp", c.name)
		}
	}
	before := s.CredentialStamp()
	if err := s.AddDomain(ctx, "third.test"); err != nil {
		t.Fatal(err)
	}
	if s.CredentialStamp() != before {
		t.Error("adding a domain moved the stamp")
	}
	if err := os.Remove(s.credStampPath()); err != nil {
		t.Fatal(err)
	}
	if s.CredentialStamp().Known() {
		t.Error("a missing stamp reads as known")
	}
	s2, err := Open(s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if !s2.CredentialStamp().Known() {
		t.Error("open did not create the stamp")
	}
}
