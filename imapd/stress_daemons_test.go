package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailsuite/internal/testutil"
)

// TestMultiSessionStressDaemons is the multi-session stress with the other
// writers as the real daemons: the mailsuite smtpd binary takes the
// deliveries over SMTP and the pop3d binary the DELE+QUIT of a POP3
// client, both on the imapd test's store file, while the IMAP sessions
// run their checks as in TestMultiSessionStress.
func TestMultiSessionStressDaemons(t *testing.T) {
	if testing.Short() {
		t.Skip("stress")
	}
	e := newEnv(t, withPlaintext)
	dir := filepath.Dir(e.dbPath)
	smtpAddr, popAddr := testutil.FreePort(t), testutil.FreePort(t)
	cfg := filepath.Join(dir, "mailsuite.toml")
	conf := fmt.Sprintf(`hostname = "localhost"
data_dir = "."
[tls]
cert = "cert.pem"
key = "key.pem"
[auth]
allow_plaintext = true
[smtpd]
listen = [%q]
submission = [%q]
submissions = [%q]
[pop3d]
listen = [%q]
tls_listen = [%q]
`, smtpAddr, testutil.FreePort(t), testutil.FreePort(t), popAddr, testutil.FreePort(t))
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.StartDaemon(t, "mailsuite/smtpd", cfg)
	testutil.StartDaemon(t, "mailsuite/pop3d", cfg)

	r := newStressRun(stressDuration())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var delivered, deleted atomic.Int64
	wg.Add(2)
	go func() { defer wg.Done(); r.smtpDeliver(ctx, smtpAddr, &delivered) }()
	go func() { defer wg.Done(); r.pop3Client(ctx, popAddr, &deleted) }()
	cmds := r.run(t, e.addr, testUser, testPass)
	cancel()
	wg.Wait()
	r.finalCheck(t, e.addr, testUser, testPass, e.inboxUIDs(t))
	t.Logf("%d commands in %v by %d sessions, %d delivered by smtpd, %d deleted by pop3d, %d inconsistencies",
		cmds, r.dur, stressSessions, delivered.Load(), deleted.Load(), r.nerrs)
	for _, e := range r.errs {
		t.Error(e)
	}
	if delivered.Load() == 0 || deleted.Load() == 0 {
		t.Errorf("the daemons took no part: %d delivered, %d deleted", delivered.Load(), deleted.Load())
	}
}

// smtpDeliver sends messages to the user through smtpd on one SMTP
// connection, a transaction every 20 ms, until ctx ends. A temporary
// failure (4xx) is a reason to try again, as a real MTA would.
func (r *stressRun) smtpDeliver(ctx context.Context, addr string, n *atomic.Int64) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		r.fail("smtp: %v", err)
		return
	}
	conn.SetDeadline(time.Now().Add(r.dur + time.Minute))
	c, err := smtp.NewClient(conn, "localhost")
	if err != nil {
		r.fail("smtp: %v", err)
		return
	}
	defer c.Close()
	for ctx.Err() == nil {
		_, msg := r.makeMessage("Deliverer <smtp@example.org>")
		var te *textproto.Error
		switch err := sendOne(c, msg); {
		case errors.As(err, &te) && te.Code/100 == 4:
			if err := c.Reset(); err != nil {
				r.fail("smtp: RSET: %v", err)
				return
			}
		case err != nil:
			r.fail("smtp: %v", err)
			return
		default:
			n.Add(1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.Quit()
}

func sendOne(c *smtp.Client, msg []byte) error {
	if err := c.Mail("smtp@example.org"); err != nil {
		return err
	}
	if err := c.Rcpt(testUser); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	return w.Close()
}

// pop3Client logs in to pop3d every 100 ms, deletes a random message and
// quits, until ctx ends. The maildrop is held by one POP3 session at a
// time: "-ERR [IN-USE]" means try again later.
func (r *stressRun) pop3Client(ctx context.Context, addr string, n *atomic.Int64) {
	for ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		d, err := pop3Once(addr)
		if err != nil {
			r.fail("pop3: %v", err)
			return
		}
		n.Add(int64(d))
	}
}

// pop3Once is one POP3 session: it returns how many messages it deleted.
func pop3Once(addr string) (int, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	cmd := func(line string) (string, error) {
		if line != "" {
			fmt.Fprintf(c, "%s\r\n", line)
		}
		l, err := br.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("%q: %w", line, err)
		}
		return strings.TrimRight(l, "\r\n"), nil
	}
	for _, line := range []string{"", "USER " + testUser, "PASS " + testPass} {
		l, err := cmd(line)
		if err != nil {
			return 0, err
		}
		if strings.HasPrefix(l, "-ERR [IN-USE]") {
			return 0, nil
		}
		if !strings.HasPrefix(l, "+OK") {
			return 0, fmt.Errorf("%q: %s", strings.Fields(line + " x")[0], l)
		}
	}
	l, err := cmd("STAT")
	if err != nil {
		return 0, err
	}
	var count, size int
	if _, err := fmt.Sscanf(l, "+OK %d %d", &count, &size); err != nil {
		return 0, fmt.Errorf("STAT: %s", l)
	}
	deleted := 0
	if count > 0 {
		if l, err := cmd(fmt.Sprintf("DELE %d", 1+rand.Intn(count))); err != nil {
			return 0, err
		} else if !strings.HasPrefix(l, "+OK") {
			return 0, fmt.Errorf("DELE: %s", l)
		}
		deleted = 1
	}
	if l, err := cmd("QUIT"); err != nil {
		return 0, err
	} else if !strings.HasPrefix(l, "+OK") {
		return 0, fmt.Errorf("QUIT: %s", l)
	}
	return deleted, nil
}
