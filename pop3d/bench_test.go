package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/shared/auth"
	"mailsuite/store"

	"golang.org/x/crypto/bcrypt"
)

// TestSeedBench fills a store for ../shared/bench/pop3_retr.py with
// SEED=0: domain bench.test, user1..user8@bench.test with passwords
// pass1..pass8, 100 messages of 4 KB each. It runs only when
// POP3D_BENCH_DB names the store file to fill. POP3D_BENCH_HASH=bcrypt4
// stores cheap bcrypt hashes instead of argon2id, to measure the protocol
// cost without the password-hash cost (the anchor uses plain passwords).
func TestSeedBench(t *testing.T) {
	path := os.Getenv("POP3D_BENCH_DB")
	if path == "" {
		t.Skip("POP3D_BENCH_DB not set")
	}
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.AddDomain(ctx, "bench.test"); err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 70) + "\r\n"
	for u := 1; u <= 8; u++ {
		h, _ := auth.HashPassword(fmt.Sprintf("pass%d", u))
		if os.Getenv("POP3D_BENCH_HASH") == "bcrypt4" {
			b, _ := bcrypt.GenerateFromPassword([]byte(fmt.Sprintf("pass%d", u)), bcrypt.MinCost)
			h = string(b)
		}
		addr := fmt.Sprintf("user%d@bench.test", u)
		id, err := st.AddUser(ctx, addr, h, true)
		if err != nil {
			t.Fatal(err)
		}
		inbox, _ := st.MailboxByName(ctx, id, "INBOX")
		for i := 0; i < 100; i++ {
			hdr := fmt.Sprintf("From: bench@example.org\r\nTo: %s\r\nSubject: pop3 bench %d\r\n\r\n", addr, i)
			body := hdr + strings.Repeat(line, (4096-len(hdr))/len(line))
			if _, err := st.Append(ctx, inbox.ID, nil, time.Now(), []byte(body)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// BenchmarkPasswordCheck is the password-hash cost inside every login,
// reported apart from the protocol cost.
func BenchmarkPasswordCheck(b *testing.B) {
	h := testHash()
	for b.Loop() {
		auth.CheckPassword(h, testPass)
	}
}

// BenchmarkRETR measures RETR of a 4 KB message in one session.
func BenchmarkRETR(b *testing.B) {
	e := newEnv(b, withPlaintext)
	e.deliver(msg("bench", strings.Repeat(strings.Repeat("x", 70)+"\r\n", 56)))
	c := e.login()
	b.SetBytes(4096)
	for b.Loop() {
		c.send("RETR 1")
		c.expect("+OK")
		c.multi()
	}
}

// BenchmarkNOOP measures a command in a logged-in session, the check of
// its credential before it included. On PostgreSQL
// (MAILSUITE_TEST_STORE=postgres) a known credential stamp spares that
// check a query per command.
func BenchmarkNOOP(b *testing.B) {
	e := newEnv(b, withPlaintext)
	testutil.KnownCredentialStamp(b, e.st)
	c := e.login()
	for b.Loop() {
		c.cmd("NOOP", "+OK")
	}
}
