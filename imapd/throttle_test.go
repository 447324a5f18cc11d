package main

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mailsuite/shared/auth"
	"mailsuite/shared/config"
)

// dialPlainFrom dials the plain port from another loopback address, so
// tests can play several clients, and reads the greeting.
func (e *testEnv) dialPlainFrom(ip string) *textConn {
	e.t.Helper()
	tc, _ := e.dialFrom(ip, e.addr)
	return tc
}

// TestLoginParallelGuesses: 60 connections LOGIN at once to one account
// from one IP, all wrong. At most the account's limit
// get a password check; the others are refused unchecked.
func TestLoginParallelGuesses(t *testing.T) {
	// One address, more connections than the default per-address limit.
	e := newEnv(t, withPlaintext, withLimits(config.ConnLimits{Max: 1000, PerIP: 100}))
	const n = 60
	conns := make([]*textConn, n)
	for i := range conns {
		conns[i] = e.dial()
	}
	var wg sync.WaitGroup
	replies := make([]string, n)
	for i, tc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pass := fmt.Sprintf("guess %d", i)
			tc.send(fmt.Sprintf("a LOGIN %s %q\r\n", testUser, pass))
			tc.c.SetReadDeadline(time.Now().Add(time.Minute))
			replies[i], _ = tc.r.ReadString('\n')
		}()
	}
	wg.Wait()
	log := e.log.String()
	checked := strings.Count(log, `msg="auth failed"`) + strings.Count(log, `msg="auth ok"`)
	throttled := strings.Count(log, `msg="auth throttled"`)
	t.Logf("%d parallel logins: %d checked the password, %d throttled unchecked", n, checked, throttled)
	if checked > auth.MaxFailuresPerAccount || checked+throttled != n {
		t.Fatalf("%d logins checked, %d throttled; want at most %d of %d checked", checked, throttled, auth.MaxFailuresPerAccount, n)
	}
	unavailable := 0
	for _, r := range replies {
		if strings.HasPrefix(r, "a NO [UNAVAILABLE]") {
			unavailable++
		}
	}
	if unavailable != throttled {
		t.Errorf("%d replies NO [UNAVAILABLE], %d logged throttled", unavailable, throttled)
	}
}

// TestLoginCanonicalBucket: spellings of one account share its limit;
// the sixth try is refused whatever the spelling.
func TestLoginCanonicalBucket(t *testing.T) {
	e := newEnv(t, withPlaintext)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tc := e.dial()
	for _, login := range []string{`"alice@example.com."`, `" alice@example.com"`, "ALICE@EXAMPLE.COM", "Alice@Example.Com"} {
		if _, r := tc.cmd("LOGIN %s wrong", login); !strings.HasPrefix(r, "NO [AUTHENTICATIONFAILED]") {
			t.Fatalf("LOGIN %s: %s", login, r)
		}
	}
	// Fullwidth letters in the domain map to the same domain (IDNA).
	if _, r := tc.cmd("AUTHENTICATE PLAIN %s", b64("\x00alice@ｅｘａｍｐｌｅ.com\x00wrong")); !strings.HasPrefix(r, "NO [AUTHENTICATIONFAILED]") {
		t.Fatalf("fullwidth: %s", r)
	}
	if _, r := e.dialPlainFrom("127.0.0.2").cmd("LOGIN %s %q", "alice@EXAMPLE.com", testPass); !strings.HasPrefix(r, "NO [UNAVAILABLE]") {
		t.Fatalf("sixth try from another IP: %s, want NO [UNAVAILABLE]", r)
	}
}

// TestLoginOwnerNotLockedOut: guesses from one address lock the account
// for new addresses, but not for the owner's known device; the refusals
// are logged "auth throttled", which fail2ban does not ban.
func TestLoginOwnerNotLockedOut(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.dialPlainFrom("127.0.0.1").login() // the owner's device
	attacker := e.dialPlainFrom("127.0.0.2")
	for i := 0; i < auth.MaxFailuresPerAccount; i++ {
		attacker.cmd("LOGIN %s wrong%d", testUser, i)
	}
	if _, r := attacker.cmd("LOGIN %s guess", testUser); !strings.HasPrefix(r, "NO [UNAVAILABLE]") {
		t.Fatalf("attacker's 6th try: %s", r)
	}
	if _, r := e.dialPlainFrom("127.0.0.3").cmd("LOGIN %s %q", testUser, testPass); !strings.HasPrefix(r, "NO [UNAVAILABLE]") {
		t.Fatalf("unknown address during the attack: %s", r)
	}
	e.dialPlainFrom("127.0.0.1").login()
	for _, l := range strings.Split(e.log.String(), "\n") {
		if strings.Contains(l, `msg="auth failed"`) && !strings.Contains(l, "ip=127.0.0.2") {
			t.Errorf("a refusal of someone who did not guess is logged as a failure: %s", l)
		}
	}
	if !strings.Contains(e.log.String(), `msg="auth throttled" proto=imap ip=127.0.0.3`) {
		t.Errorf("no auth throttled line for 127.0.0.3:\n%s", e.log)
	}
}
