package store

import (
	"context"
	"os"
	"testing"
	"time"

	"mailsuite/internal/pgtest"
)

// TestCredentialStamp: every credential change moves the stamp, other
// writes do not, and a store without a stamp file gets one at open.
func TestCredentialStamp(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	if s.postgres() {
		t.Skip("SQLite only: the stamp is a file beside mail.db (see TestCredentialStampPostgres)")
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

// knownStamp waits until s's credential stamp is known (on PostgreSQL,
// until its listening connection listens) and returns it.
func knownStamp(t *testing.T, s *Store) CredentialStamp {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if c := s.CredentialStamp(); c.Known() {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatal("the credential stamp never became known")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stampMoved waits until s's credential stamp is known and differs from
// before, and returns it.
func stampMoved(t *testing.T, s *Store, before CredentialStamp, what string) CredentialStamp {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if c := s.CredentialStamp(); c.Known() && c != before {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("the credential stamp did not move after %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCredentialStampPostgres: on PostgreSQL the stamp is known once the
// store listens, stays while nothing changes, moves after a credential
// change committed by another host (its notification) or by this store
// (at once), and moves when the listening connection comes back after
// it was lost, since a change may have gone unheard meanwhile.
func TestCredentialStampPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	s, other := openHost(t, dsn), openHost(t, dsn) // other: another host
	u := seed(t, other)

	before := knownStamp(t, s)
	if again := s.CredentialStamp(); again != before {
		t.Fatalf("the stamp moved with nothing changed: %+v, then %+v", before, again)
	}
	if err := other.SetUserPassword(ctx, u.Address, "new-hash"); err != nil {
		t.Fatal(err)
	}
	before = stampMoved(t, s, before, "another host's password change")

	if err := s.SetUserPassword(ctx, u.Address, "newer-hash"); err != nil {
		t.Fatal(err)
	}
	if now := s.CredentialStamp(); now == before || !now.Known() {
		t.Fatal("this store's own password change did not move its stamp at once")
	}

	before = knownStamp(t, s)
	pg := plainConn(t, dsn)
	if _, err := pg.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	stampMoved(t, s, before, "the listening connection was lost")
}

// TestCredentialsNotify: every committed change of what a credential
// check reads (migration postgres/0004) notifies CredentialsChannel, by
// whichever handle it is made; other writes, and a credential change
// rolled back, do not. Notifications come in commit order, so a marker
// sent after each step tells whether that step sent one, with no wait.
func TestCredentialsNotify(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	s := openHost(t, dsn)
	u := seed(t, s)
	inbox := inbox(t, s, u.ID)
	if err := s.AddDomain(ctx, "other.test"); err != nil {
		t.Fatal(err)
	}
	l := plainConn(t, dsn, CredentialsChannel)
	marker := plainConn(t, dsn)
	// notified runs step, then sends the marker, and reports whether a
	// notification came before it.
	notified := func(name string, step func() error) bool {
		t.Helper()
		if err := step(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := marker.Exec(ctx, `SELECT pg_notify($1, 'marker')`, CredentialsChannel); err != nil {
			t.Fatal(err)
		}
		heard := false
		for {
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			n, err := l.WaitForNotification(wctx)
			cancel()
			if err != nil {
				t.Fatalf("%s: no marker: %v", name, err)
			}
			if n.Payload == "marker" {
				return heard
			}
			heard = true
		}
	}

	quiet := []struct {
		name string
		do   func() error
	}{
		{"delivery", func() error {
			return s.Accept(ctx, Envelope{From: "x@remote.test", Local: []int64{u.ID}}, []byte("Subject: 1\r\n\r\n1\r\n"))
		}},
		{"flag change", func() error { return s.StoreFlags(ctx, inbox.ID, []uint32{1}, FlagsSet, []string{`\Seen`}) }},
		{"quota", func() error { return s.SetUserQuota(ctx, u.Address, 1<<20) }},
		{"alias", func() error { return s.AddAlias(ctx, "info@example.com", u.Address) }},
		{"new user", func() error {
			_, err := s.AddUser(ctx, "b@example.com", "hash", true)
			return err
		}},
		{"rolled back password change", func() error {
			tx, err := marker.Begin(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE users SET hash = 'x' WHERE address = $1`, u.Address); err != nil {
				return err
			}
			return tx.Rollback(ctx)
		}},
	}
	for _, c := range quiet {
		if notified(c.name, c.do) {
			t.Errorf("%s notified %s", c.name, CredentialsChannel)
		}
	}
	changes := []struct {
		name string
		do   func() error
	}{
		{"password", func() error { return s.SetUserPassword(ctx, u.Address, "new-hash") }},
		{"smtp off", func() error { return s.SetUserSMTP(ctx, u.Address, false) }},
		{"smtp on", func() error { return s.SetUserSMTP(ctx, u.Address, true) }},
		{"user suspended", func() error {
			_, err := s.SuspendUser(ctx, u.Address, "test")
			return err
		}},
		{"domain credential", func() error { return s.SetDomainCredential(ctx, "other.test", "h") }},
		{"domain credential suspended", func() error {
			_, err := s.SuspendDomainCredential(ctx, "other.test", "test")
			return err
		}},
		{"user removed", func() error { return s.RemoveUser(ctx, u.Address) }},
		{"domain removed", func() error { return s.RemoveDomain(ctx, "other.test") }},
	}
	for _, c := range changes {
		if !notified(c.name, c.do) {
			t.Errorf("%s did not notify %s", c.name, CredentialsChannel)
		}
	}
}
