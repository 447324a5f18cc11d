package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"mailsuite/shared/auth"
	"mailsuite/shared/config"
)

// TestAuthParallelGuesses: 60 connections AUTH at once for alice from one
// IP, all wrong. At most the account's limit get a
// password check; the others get 454 unchecked, logged "auth throttled".
func TestAuthParallelGuesses(t *testing.T) {
	// One address, more connections than the default per-address limit.
	e := newEnv(t, func(c *config.Config) {
		c.Auth.AllowPlaintext = true
		c.SMTPD.SubmissionMaxConnectionsPerIP = 100
	})
	const n = 60
	conns := make([]*client, n)
	for i := range conns {
		conns[i] = dial(t, e.sub, "", false)
		conns[i].ehlo()
	}
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pass := fmt.Sprintf("guess %d", i)
			ir := encodeB64("\x00" + alice + "\x00" + pass)
			if err := c.tp.PrintfLine("AUTH PLAIN %s", ir); err != nil {
				return
			}
			codes[i], _, _ = c.tp.ReadResponse(0)
		}()
	}
	wg.Wait()
	log := e.log.String()
	checked := strings.Count(log, `msg="auth failed"`) + strings.Count(log, `msg="auth ok"`)
	throttled := strings.Count(log, `msg="auth throttled"`)
	t.Logf("%d parallel AUTHs: %d checked the password, %d throttled unchecked", n, checked, throttled)
	if checked > auth.MaxFailuresPerAccount || checked+throttled != n {
		t.Fatalf("%d AUTHs checked, %d throttled; want at most %d of %d checked", checked, throttled, auth.MaxFailuresPerAccount, n)
	}
	n454 := 0
	for _, code := range codes {
		if code == 454 {
			n454++
		}
	}
	if n454 != throttled {
		t.Errorf("%d replies 454, %d logged throttled", n454, throttled)
	}
}
