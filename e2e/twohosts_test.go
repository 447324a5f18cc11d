package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailsuite/internal/pgtest"
	"mailsuite/internal/testutil"
	"mailsuite/store"
)

// Two "hosts" on loopback, 127.0.0.10 and 127.0.0.11, each with its own
// configuration, data_dir and listeners, sharing one PostgreSQL database:
// the scale-out setup of README's "Two hosts". A client of both is at
// 127.0.0.20.
const (
	hostA    = "127.0.0.10"
	hostB    = "127.0.0.11"
	clientIP = "127.0.0.20"
)

// twoHosts returns the suites of hosts A and B over one new database, and
// its connection string.
func twoHosts(t *testing.T) (a, b *suite, dsn string) {
	t.Helper()
	dsn = pgtest.DSN(t)
	a, b = newSuite(t), newSuite(t)
	a.ip, b.ip = hostA, hostB
	for _, s := range []*suite{a, b} {
		s.extra = fmt.Sprintf("\n[store]\ndriver = \"postgres\"\ndsn = %q\n", dsn)
		s.writeConfig()
	}
	return a, b, dsn
}

// openShared opens the hosts' database as the test's own view of it.
func openShared(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.OpenPostgres(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// lineConnFrom is lineConn to address, from the loopback address from.
func lineConnFrom(t *testing.T, from, address string) *textLineConn {
	c := testutil.DialFrom(t, from, address)
	return &textLineConn{t: t, c: c, r: bufio.NewReader(c)}
}

// smtpFrom is an SMTP client of address connected from from, past EHLO.
func smtpFrom(t *testing.T, from, address string) *smtp.Client {
	t.Helper()
	c := smtp.NewClient(testutil.DialFrom(t, from, address))
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTwoHostsPOPBeforeSMTP: a POP3 login at host A lets the same client
// address relay through host B's smtpd: the grant is a row both read.
func TestTwoHostsPOPBeforeSMTP(t *testing.T) {
	a, b, _ := twoHosts(t)
	mx := newFakeMX(t)
	b.route("remote.test", mx.addr())
	a.addUser("ann@example.test", "secret-pw")
	a.start("pop3d")
	b.start("smtpd")

	send := func() error {
		c := smtpFrom(t, clientIP, b.at(b.ports.SMTP))
		defer c.Close()
		msg := "From: ann@example.test\r\nTo: friend@remote.test\r\nSubject: across\r\n\r\nacross hosts\r\n"
		return c.SendMail("ann@example.test", []string{"friend@remote.test"}, strings.NewReader(msg))
	}
	var serr *smtp.SMTPError
	if err := send(); !errors.As(err, &serr) || serr.Code/100 != 5 {
		t.Fatalf("relay before any login: %v, want a 5xx refusal", err)
	}
	pop := lineConnFrom(t, clientIP, a.at(a.ports.POP3))
	pop.expect("+OK")
	pop.cmd("USER ann@example.test", "+OK")
	pop.cmd("PASS secret-pw", "+OK")
	pop.cmd("QUIT", "+OK")
	if err := send(); err != nil {
		t.Fatalf("relay through B after a POP3 login at A: %v", err)
	}
	if _, ok := mx.waitFor(time.Minute, "across hosts"); !ok {
		t.Fatal("the relayed message never reached the remote MX")
	}
}

// TestTwoHostsIdle: a session in IDLE at host B hears of a message that
// host A's smtpd accepted.
func TestTwoHostsIdle(t *testing.T) {
	a, b, _ := twoHosts(t)
	a.addUser("ann@example.test", "secret-pw")
	a.start("smtpd")
	b.start("imapd")

	imap := lineConnFrom(t, clientIP, b.at(b.ports.IMAP))
	imap.expect("* OK")
	imap.cmd("a LOGIN ann@example.test secret-pw", "a OK")
	imap.send("b SELECT INBOX")
	imap.until("b OK")
	imap.cmd("c IDLE", "+")

	c := smtpFrom(t, clientIP, a.at(a.ports.SMTP))
	defer c.Close()
	msg := "From: bob@remote.test\r\nTo: ann@example.test\r\nSubject: hi\r\n\r\nhello from A\r\n"
	if err := c.SendMail("bob@remote.test", []string{"ann@example.test"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	imap.until("* 1 EXISTS")
	imap.send("DONE")
	imap.until("c OK")
}

func (l *textLineConn) send(line string) {
	l.t.Helper()
	if _, err := l.c.Write([]byte(line + "\r\n")); err != nil {
		l.t.Fatal(err)
	}
}

// until reads lines until one starts with prefix, for a minute at most.
func (l *textLineConn) until(prefix string) {
	l.t.Helper()
	l.c.SetReadDeadline(time.Now().Add(time.Minute))
	for {
		line, err := l.r.ReadString('\n')
		if err != nil {
			l.t.Fatalf("waiting for %q: %v", prefix, err)
		}
		if strings.HasPrefix(line, prefix) {
			return
		}
	}
}

// TestTwoHostsMaildropInUse: a POP3 session at host A holds the maildrop
// against host B too, until it ends.
func TestTwoHostsMaildropInUse(t *testing.T) {
	a, b, _ := twoHosts(t)
	a.addUser("ann@example.test", "secret-pw")
	a.start("pop3d")
	b.start("pop3d")

	atA := lineConnFrom(t, clientIP, a.at(a.ports.POP3))
	atA.expect("+OK")
	atA.cmd("USER ann@example.test", "+OK")
	atA.cmd("PASS secret-pw", "+OK")
	atB := lineConnFrom(t, clientIP, b.at(b.ports.POP3))
	atB.expect("+OK")
	atB.cmd("USER ann@example.test", "+OK")
	atB.cmd("PASS secret-pw", "-ERR [IN-USE]")
	atA.cmd("QUIT", "+OK")
	atB.cmd("USER ann@example.test", "+OK")
	atB.cmd("PASS secret-pw", "+OK")
}

// TestTwoHostsKillLosesNothing: host A's smtpd is killed with SIGKILL
// while clients deliver to it; every message that got its 250 is in the
// store afterwards, and host B goes on accepting.
func TestTwoHostsKillLosesNothing(t *testing.T) {
	a, b, dsn := twoHosts(t)
	a.addUser("ann@example.test", "secret-pw")
	a.start("smtpd")
	b.start("smtpd")

	const clients, perClient = 4, 100
	var (
		mu     sync.Mutex
		acked  []string
		wg     sync.WaitGroup
		enough = make(chan struct{})
		once   sync.Once
	)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perClient {
				marker := fmt.Sprintf("m-%d-%d", i, j)
				if deliverOnce(a.at(a.ports.SMTP), marker) != nil {
					return // A is gone
				}
				mu.Lock()
				acked = append(acked, marker)
				if len(acked) == 50 {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(2 * time.Minute):
		t.Fatal("fewer than 50 messages accepted in two minutes")
	}
	a.daemons["smtpd"].Kill()
	delete(a.daemons, "smtpd")
	wg.Wait()
	if err := deliverOnce(b.at(b.ports.SMTP), "after-the-kill"); err != nil {
		t.Fatalf("host B after A's crash: %v", err)
	}

	st := openShared(t, dsn)
	u, err := st.UserByAddress(context.Background(), "ann@example.test")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, body := range testutil.Inbox(t, st, u.ID) {
		for _, line := range strings.Split(body, "\r\n") {
			if m, ok := strings.CutPrefix(line, "Subject: "); ok {
				stored[m] = true
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range acked {
		if !stored[m] {
			t.Errorf("message %s got its 250 but is not in the store", m)
		}
	}
	if !stored["after-the-kill"] {
		t.Error("host B's message after the crash is not in the store")
	}
	t.Logf("%d messages acknowledged before and during the kill, all stored", len(acked))
}

// deliverOnce sends one message to ann over a new connection.
func deliverOnce(address, marker string) error {
	conn, err := net.DialTimeout("tcp", address, 10*time.Second)
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(time.Minute))
	c := smtp.NewClient(conn)
	defer c.Close()
	msg := "From: bob@remote.test\r\nTo: ann@example.test\r\nSubject: " + marker + "\r\n\r\n" + marker + "\r\n"
	return c.SendMail("bob@remote.test", []string{"ann@example.test"}, strings.NewReader(msg))
}

// TestTwoHostsQueueOnce: with both hosts' queue runners active, 1 000
// queued messages reach the remote MX exactly once each, also when host
// A's smtpd stops half-way and B's runner takes over.
func TestTwoHostsQueueOnce(t *testing.T) {
	a, b, dsn := twoHosts(t)
	mx := newFakeMX(t)
	a.route("remote.test", mx.addr())
	b.route("remote.test", mx.addr())
	a.start("smtpd")
	b.start("smtpd")

	st := openShared(t, dsn)
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			marker := fmt.Sprintf("q-%d", i)
			body := "From: ann@example.test\r\nTo: friend@remote.test\r\nSubject: " + marker + "\r\n\r\n" + marker + "\r\n"
			env := store.Envelope{From: "ann@example.test", Remote: []string{"friend@remote.test"}}
			errs <- st.Accept(context.Background(), env, []byte(body))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Half-way, host A stops: a clean stop hands the lease on.
	if !eventually(2*time.Minute, func() bool { return len(mx.received()) >= n/2 }) {
		t.Fatalf("only %d of %d messages relayed", len(mx.received()), n)
	}
	if err := a.stop("smtpd"); err != nil {
		t.Fatal(err)
	}
	if !eventually(3*time.Minute, func() bool { return len(mx.received()) >= n }) {
		t.Fatalf("only %d of %d messages relayed", len(mx.received()), n)
	}
	// A late duplicate would come within a retry or two.
	time.Sleep(2 * time.Second)
	seen := map[string]int{}
	for _, m := range mx.received() {
		for _, line := range strings.Split(m.Data, "\r\n") {
			if s, ok := strings.CutPrefix(line, "Subject: "); ok {
				seen[s]++
			}
		}
	}
	for i := range n {
		if c := seen[fmt.Sprintf("q-%d", i)]; c != 1 {
			t.Errorf("message q-%d relayed %d times", i, c)
		}
	}
}
