package main

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
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
