package main

import (
	"encoding/base64"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestAuthPlainInitial(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	c.cmd("AUTH PLAIN "+b64("\x00"+testUser+"\x00"+testPass), "+OK")
	c.cmd("STAT", "+OK 0 0")
}

func TestAuthPlainContinuation(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	c.cmd("AUTH PLAIN", "+ ")
	c.cmd(b64(testUser+"\x00"+testUser+"\x00"+testPass), "+OK")
}

func TestAuthPlainOtherAuthzid(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	c.cmd("AUTH PLAIN "+b64("bob@example.com\x00"+testUser+"\x00"+testPass), "-ERR [AUTH]")
	c.cmd("STAT", "-ERR")
}

func TestAuthPlainBad(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	c.cmd("AUTH PLAIN !!!", "-ERR")
	c.cmd("AUTH PLAIN "+b64("nonul"), "-ERR [AUTH]")
	c.cmd("AUTH PLAIN "+b64("\x00"+testUser+"\x00wrong"), "-ERR [AUTH]")
	c.cmd("AUTH PLAIN", "+ ")
	c.cmd("*", "-ERR authentication cancelled")
	c.cmd("AUTH CRAM-MD5", "-ERR unsupported")
}

func TestAuthLogin(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	c.cmd("AUTH LOGIN", "+ VXNlcm5hbWU6")
	c.cmd(b64(testUser), "+ UGFzc3dvcmQ6")
	c.cmd(b64(testPass), "+OK")
}

func TestAuthLoginInitial(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	c.cmd("AUTH LOGIN "+b64(testUser), "+ UGFzc3dvcmQ6")
	c.cmd(b64("wrong"), "-ERR [AUTH]")
}

func TestAuthList(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	c.cmd("AUTH", "+OK")
	got := c.multi()
	if len(got) != 2 || got[0] != "PLAIN" || got[1] != "LOGIN" {
		t.Fatalf("mechanisms %q", got)
	}
}

// TestAuthRefusedUnchecked: what the shared mechanisms refuse before any
// password check is answered -ERR [AUTH] and never logged as "auth
// failed"; an empty LOGIN user name no longer reaches the check.
func TestAuthRefusedUnchecked(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	c.cmd("AUTH LOGIN =", "-ERR [AUTH] malformed")
	c.cmd("AUTH PLAIN "+b64("\x00"+testUser+"\x00"), "-ERR [AUTH] malformed")
	c.cmd("AUTH PLAIN "+b64("bob@example.com\x00"+testUser+"\x00"+testPass), "-ERR [AUTH] authorization identity")
	c.cmd("AUTH LOGIN "+b64(testUser), "+ UGFzc3dvcmQ6")
	c.cmd(b64("pass\x00word"), "-ERR [AUTH] malformed")
	logs := e.logBuf.String()
	if strings.Contains(logs, `msg="auth failed"`) || !strings.Contains(logs, `msg="auth refused" proto=pop3 ip=127.0.0.1 user=`+testUser+` reason="authorization identity"`) {
		t.Errorf("log:\n%s", logs)
	}
	c.cmd("AUTH PLAIN "+b64("\x00"+testUser+"\x00"+testPass), "+OK")
}
