package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailsuite/internal/testutil"
	"mailsuite/shared/auth"
	"mailsuite/shared/config"
	"mailsuite/store"
)

func TestUserPassRecordsGrant(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver(msg("one", "hi\r\n"))
	c := e.dial()
	c.cmd("USER "+testUser, "+OK")
	grants, _ := e.st.LiveGrants(context.Background(), "127.0.0.1")
	if len(grants) != 0 {
		t.Fatalf("grant before login: %v", grants)
	}
	c.send("PASS " + testPass)
	c.expect("+OK maildrop has 1 messages")
	grants, err := e.st.LiveGrants(context.Background(), "127.0.0.1")
	if err != nil || len(grants) != 1 || grants[0].User.Address != testUser {
		t.Fatalf("grants after login = %v, %v", grants, err)
	}
	if !strings.Contains(e.logBuf.String(), `msg="auth ok"`) {
		t.Errorf("no auth ok log line:\n%s", e.logBuf)
	}
}

func TestBadPasswordNoGrant(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	c.cmd("USER "+testUser, "+OK")
	c.cmd("PASS wrong", "-ERR [AUTH]")
	// The session stays in AUTHORIZATION and USER must come again.
	c.cmd("PASS "+testPass, "-ERR")
	c.cmd("STAT", "-ERR")
	grants, _ := e.st.LiveGrants(context.Background(), "127.0.0.1")
	if len(grants) != 0 {
		t.Fatalf("failed login recorded a grant: %v", grants)
	}
	log := e.logBuf.String()
	if !strings.Contains(log, `msg="auth failed"`) || !strings.Contains(log, "ip=127.0.0.1") {
		t.Errorf("no auth failed line with ip:\n%s", log)
	}
	if strings.Contains(log, "wrong") {
		t.Errorf("password logged:\n%s", log)
	}
	c.cmd("USER "+testUser, "+OK")
	c.cmd("PASS "+testPass, "+OK")
}

func TestUnknownUser(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	c.cmd("USER nobody@example.com", "+OK")
	c.cmd("PASS x", "-ERR [AUTH]")
}

func TestPassWithSpaces(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	c.cmd("USER "+testUser, "+OK")
	c.cmd("PASS "+testPass, "+OK") // testPass contains a space
}

func TestDomainCredentialCannotLogin(t *testing.T) {
	e := newEnv(t, withPlaintext)
	h, _ := auth.HashPassword("domainpw")
	if err := e.st.SetDomainCredential(context.Background(), "example.com", h); err != nil {
		t.Fatal(err)
	}
	c := e.dial()
	c.cmd("USER example.com", "+OK")
	c.cmd("PASS domainpw", "-ERR [AUTH]")
}

func TestThrottled(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	for i := 0; i < auth.MaxFailuresPerAccount; i++ {
		c.cmd("USER "+testUser, "+OK")
		c.cmd("PASS wrong", "-ERR [AUTH]")
	}
	c = e.dial()
	c.cmd("USER "+testUser, "+OK")
	c.cmd("PASS "+testPass, "-ERR [SYS/TEMP] too many failed logins")
}

func TestPlaintextRefusedBeforeTLS(t *testing.T) {
	e := newEnv(t) // allow_plaintext = false
	c := e.dial()
	c.cmd("USER "+testUser, "-ERR [AUTH]")
	c.cmd("PASS "+testPass, "-ERR [AUTH]")
	c.cmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAGNvcnJlY3QgaG9yc2U=", "-ERR [AUTH]")
	// Logged as refused logins, never as the fail2ban-matched "auth failed".
	logs := e.logBuf.String()
	if !strings.Contains(logs, `msg="auth refused" proto=pop3 ip=127.0.0.1 user=`+testUser+` reason="login before TLS"`) ||
		strings.Count(logs, `msg="auth refused"`) != 3 || strings.Contains(logs, "auth failed") {
		t.Errorf("logins before TLS not logged as auth refused:\n%s", logs)
	}
	c.starttls(e.certPool)
	c.cmd("USER "+testUser, "+OK")
	c.cmd("PASS "+testPass, "+OK")
}

func TestSecondLoginRefreshesGrant(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.login().cmd("QUIT", "+OK")
	g1, _ := e.st.LiveGrants(context.Background(), "127.0.0.1")
	e.login().cmd("QUIT", "+OK")
	g2, _ := e.st.LiveGrants(context.Background(), "127.0.0.1")
	if len(g1) != 1 || len(g2) != 1 || g2[0].Expires.Before(g1[0].Expires) {
		t.Fatalf("grants %v then %v", g1, g2)
	}
}

// TestStoreErrorAfterLoginNamesUser: a failure right after a successful
// password check (here the maildrop lock cannot be taken) is logged with
// the user who logged in, so the operator knows whose login failed.
func TestStoreErrorAfterLoginNamesUser(t *testing.T) {
	e := newEnv(t, withPlaintext)
	if e.st.Driver() != store.DriverSQLite {
		t.Skip("the lock folder is SQLite's")
	}
	// A file where the lock folder goes: no lock can be created.
	if err := os.WriteFile(filepath.Join(filepath.Dir(e.st.Path()), "locks"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c := e.dial()
	c.cmd("USER "+testUser, "+OK")
	c.cmd("PASS "+testPass, "-ERR [SYS/TEMP]")
	if !regexp.MustCompile(`msg="lock maildrop" .*user=` + regexp.QuoteMeta(testUser) + ` `).MatchString(e.logBuf.String()) {
		t.Errorf("store error not logged with the user:\n%s", e.logBuf)
	}
}

// TestNoGrantFrom: a login from an address in relay.no_grant_from (a
// webmail's) records no relay grant; one from another address does.
func TestNoGrantFrom(t *testing.T) {
	e := newEnv(t, withPlaintext, func(s *server) {
		s.auth.NoGrant = config.RelayConfig{NoGrantFrom: []string{"127.0.0.1"}}.NoGrant()
	})
	e.login().cmd("QUIT", "+OK")
	c := testutil.DialFrom(t, "127.0.0.2", e.addr)
	tc := &testconn{t: t, conn: c, r: bufio.NewReader(c)}
	tc.expect("+OK ")
	tc.cmd("USER "+testUser, "+OK")
	tc.cmd("PASS "+testPass, "+OK")
	if g, _ := e.st.LiveGrants(context.Background(), "127.0.0.1"); len(g) != 0 {
		t.Errorf("a login from a no_grant_from address recorded %+v", g)
	}
	if g, _ := e.st.LiveGrants(context.Background(), "127.0.0.2"); len(g) != 1 {
		t.Errorf("a login from another address recorded %+v, want one grant", g)
	}
}
