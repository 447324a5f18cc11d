package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailsuite/internal/testutil"
	"mailsuite/shared/auth"
	"mailsuite/shared/config"
)

func TestLoginRecordsGrantBeforeOK(t *testing.T) {
	e := newEnv(t, withPlaintext)
	tc := e.dial()
	_, r := tc.cmd("LOGIN %s %q", testUser, testPass)
	if !strings.HasPrefix(r, "OK") {
		t.Fatalf("LOGIN: %s", r)
	}
	// The tagged OK has been read: the grant must exist now.
	grants, err := e.st.LiveGrants(context.Background(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(grants) != 1 || grants[0].User.ID != e.userID {
		t.Fatalf("grants = %+v, want one for user %d", grants, e.userID)
	}
	if !strings.Contains(e.log.String(), `msg="auth ok"`) {
		t.Errorf("no auth ok log line:\n%s", e.log)
	}
}

func TestLoginBadPassword(t *testing.T) {
	e := newEnv(t, withPlaintext)
	tc := e.dial()
	_, r := tc.cmd("LOGIN %s wrong", testUser)
	if !strings.HasPrefix(r, "NO [AUTHENTICATIONFAILED]") {
		t.Fatalf("LOGIN: %s", r)
	}
	if !strings.Contains(e.log.String(), "ip=127.0.0.1") {
		t.Errorf("failure not logged with the IP:\n%s", e.log)
	}
	grants, _ := e.st.LiveGrants(context.Background(), "127.0.0.1")
	if len(grants) != 0 {
		t.Fatalf("grant after failed login: %+v", grants)
	}
}

func TestLoginThrottled(t *testing.T) {
	e := newEnv(t, withPlaintext)
	tc := e.dial()
	var r string
	for i := 0; i < 6; i++ {
		_, r = tc.cmd("LOGIN %s wrong", testUser)
	}
	if !strings.HasPrefix(r, "NO [UNAVAILABLE]") {
		t.Fatalf("6th failed LOGIN: %s", r)
	}
	// Even the right password is refused while throttled.
	if _, r = tc.cmd("LOGIN %s %q", testUser, testPass); !strings.HasPrefix(r, "NO [UNAVAILABLE]") {
		t.Fatalf("LOGIN while throttled: %s", r)
	}
}

func TestLoginDisabledBeforeTLS(t *testing.T) {
	e := newEnv(t)
	tc := e.dial()
	u, _ := tc.cmd("CAPABILITY")
	if len(u) == 0 || !strings.Contains(u[0], "LOGINDISABLED") || !strings.Contains(u[0], "STARTTLS") {
		t.Fatalf("CAPABILITY = %q", u)
	}
	if _, r := tc.cmd("LOGIN %s %q", testUser, testPass); !strings.HasPrefix(r, "NO [PRIVACYREQUIRED]") {
		t.Fatalf("LOGIN before TLS: %s", r)
	}
	// Logged as a refused login, never as the fail2ban-matched "auth failed".
	logs := e.log.String()
	if !strings.Contains(logs, `msg="auth refused" proto=imap ip=127.0.0.1 user=`+testUser+` reason="login before TLS"`) ||
		strings.Contains(logs, "auth failed") {
		t.Errorf("refusal before TLS not logged as auth refused:\n%s", logs)
	}
	// STARTTLS, then login works.
	c, err := imapclient.DialStartTLS(e.addr, &imapclient.Options{TLSConfig: e.tlsConf})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		t.Fatal(err)
	}
	// Implicit TLS too.
	c2, err := imapclient.DialTLS(e.tlsAddr, &imapclient.Options{TLSConfig: e.tlsConf})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Login(testUser, testPass).Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestAuthenticatePlain(t *testing.T) {
	e := newEnv(t, withPlaintext)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tc := e.dial()
	// An authorization identity other than the login is refused, even
	// with the right password.
	if _, r := tc.cmd("AUTHENTICATE PLAIN %s", b64("bob@example.com\x00"+testUser+"\x00"+testPass)); !strings.HasPrefix(r, "NO") {
		t.Fatalf("AUTHENTICATE with foreign authzid: %s", r)
	}
	if _, r := tc.cmd("AUTHENTICATE PLAIN %s", b64(testUser+"\x00"+testUser+"\x00"+testPass)); !strings.HasPrefix(r, "OK") {
		t.Fatalf("AUTHENTICATE: %s", r)
	}
	grants, _ := e.st.LiveGrants(context.Background(), "127.0.0.1")
	if len(grants) != 1 {
		t.Fatalf("grants = %+v", grants)
	}
}

// TestAuthenticatePlainMalformed: PLAIN data that does not parse is a
// client error (BAD), not the server error go-sasl's parser made of it,
// and the connection serves on; an authorization identity of someone
// else is logged as a refused login.
func TestAuthenticatePlainMalformed(t *testing.T) {
	e := newEnv(t, withPlaintext)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tc := e.dial()
	for _, msg := range []string{"no nul", "\x00" + testUser + "\x00pw\x00", "\x00\x00pw", "\x00" + testUser + "\x00" + strings.Repeat("p", 2000)} {
		if _, r := tc.cmd("AUTHENTICATE PLAIN %s", b64(msg)); !strings.HasPrefix(r, "BAD") {
			t.Fatalf("AUTHENTICATE PLAIN %q: %s, want BAD", msg, r)
		}
	}
	if _, r := tc.cmd("AUTHENTICATE PLAIN %s", b64("bob@example.com\x00"+testUser+"\x00"+testPass)); !strings.HasPrefix(r, "NO [AUTHORIZATIONFAILED]") {
		t.Fatalf("foreign authzid: %s", r)
	}
	if !strings.Contains(e.log.String(), `msg="auth refused" proto=imap ip=127.0.0.1 user=`+testUser+` reason="authorization identity"`) {
		t.Errorf("foreign authzid not logged as refused:\n%s", e.log)
	}
	if _, r := tc.cmd("LOGIN %s %q", testUser, testPass); !strings.HasPrefix(r, "OK") {
		t.Fatalf("LOGIN after the refusals: %s", r)
	}
}

// TestLoginConcurrentSameClient: a client opens twice the account's
// limit of connections and logs in on all at once with the right
// password, as Thunderbird and Outlook do; every one gets in.
func TestLoginConcurrentSameClient(t *testing.T) {
	e := newEnv(t, withPlaintext)
	conns := make([]*textConn, 2*auth.MaxFailuresPerAccount)
	for i := range conns {
		conns[i] = e.dial()
	}
	replies := make([]string, len(conns))
	var wg sync.WaitGroup
	for i, tc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tc.send(fmt.Sprintf("a LOGIN %s %q\r\n", testUser, testPass))
			tc.c.SetReadDeadline(time.Now().Add(2 * time.Minute))
			replies[i], _ = tc.r.ReadString('\n')
		}()
	}
	wg.Wait()
	for i, r := range replies {
		if !strings.HasPrefix(r, "a OK") {
			t.Errorf("login %d: %q", i, r)
		}
	}
}

// TestNoGrantFrom: a login from an address in relay.no_grant_from (a
// webmail's) records no relay grant; one from another address does.
func TestNoGrantFrom(t *testing.T) {
	e := newEnv(t, withPlaintext, func(c *envConfig) {
		c.config = func(cfg *config.Config) { cfg.Relay.NoGrantFrom = []string{"127.0.0.0/31"} }
	})
	for _, from := range []string{"127.0.0.1", "127.0.0.2"} {
		c := testutil.DialFrom(t, from, e.addr)
		tc := &textConn{t: t, c: c, r: bufio.NewReader(c)}
		tc.line()
		if _, r := tc.cmd("LOGIN %s %q", testUser, testPass); !strings.HasPrefix(r, "OK") {
			t.Fatalf("LOGIN from %s: %s", from, r)
		}
	}
	if g, _ := e.st.LiveGrants(context.Background(), "127.0.0.1"); len(g) != 0 {
		t.Errorf("a login from a no_grant_from address recorded %+v", g)
	}
	if g, _ := e.st.LiveGrants(context.Background(), "127.0.0.2"); len(g) != 1 {
		t.Errorf("a login from another address recorded %+v, want one grant", g)
	}
}
