package main

import (
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"mailsuite/internal/dnstest"
	"mailsuite/internal/testutil"
	"mailsuite/shared/config"
	"mailsuite/shared/resolve"
	"mailsuite/shared/tlsconf"
	"mailsuite/smtpd/policy"
	"mailsuite/store"
)

// Test accounts. alice may send; bob's SMTP authority is off; carol is in
// another local domain. Both domains have a domain-level credential.
const (
	alice      = "alice@example.com"
	bob        = "bob@example.com"
	carol      = "carol@other.test"
	userPass   = "user secret"
	domainPass = "domain secret"
)

// testLookupTimeout bounds each DNS lookup of a test server: generous
// for loopback, short enough for the tests of timeouts.
const testLookupTimeout = 3 * time.Second

var testHash = testutil.HashOnce(userPass)
var domainHash = testutil.HashOnce(domainPass)

// testEnv is an in-process smtpd with the three listener roles on
// loopback and a real store.
type testEnv struct {
	t             testing.TB
	st            *store.Store
	srv           *server
	cfg           *config.Config
	clock         *testutil.Clock
	log           *syncBuffer
	dns           *dnstest.Server // every lookup of the server goes here
	mx, sub, subs string
	users         map[string]int64
}

func newEnv(t testing.TB, edit ...func(*config.Config)) *testEnv {
	t.Helper()
	return newEnvServer(t, nil, edit...)
}

// newEnvServer is newEnv with a change to the server (a timeout) made
// before its listeners serve.
func newEnvServer(t testing.TB, opt func(*server), edit ...func(*config.Config)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	clock := testutil.NewClock(time.Now())
	st := testutil.OpenStore(t, dir, store.WithClock(clock.Now))
	e := &testEnv{t: t, st: st, clock: clock, users: map[string]int64{}}
	e.seed()

	certPath, keyPath, _ := testutil.SelfSigned(t, dir)
	tlsCfg, err := tlsconf.Load(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Hostname = "mx.example.com"
	cfg.DataDir = dir
	cfg.SMTPD.MaxMessageBytes = 64 << 10
	cfg.SMTPD.MaxRecipients = 5
	e.dns = dnstest.Start(t)
	cfg.DNS.Resolver = e.dns.Addr
	for _, f := range edit {
		f(cfg)
	}
	e.cfg = cfg
	e.log = &syncBuffer{}
	log := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.srv = newServer(cfg, st, log, tlsCfg)
	e.srv.failureDelay = 0
	e.srv.checker = newAuthChecker(resolve.New(cfg.DNS.Resolver).WithTimeout(testLookupTimeout))
	if opt != nil {
		opt(e.srv)
	}
	e.mx = e.serve(policy.RoleMX, false)
	e.sub = e.serve(policy.RoleSubmission, false)
	e.subs = e.serve(policy.RoleSubmission, true)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.srv.shutdown(ctx)
	})
	return e
}

func (e *testEnv) serve(role policy.Role, implicitTLS bool) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv.serve(ln, role, implicitTLS)
	return ln.Addr().String()
}

func (e *testEnv) seed() {
	ctx := context.Background()
	for _, d := range []string{"example.com", "other.test"} {
		if err := e.st.AddDomain(ctx, d); err != nil {
			e.t.Fatal(err)
		}
		if err := e.st.SetDomainCredential(ctx, d, domainHash()); err != nil {
			e.t.Fatal(err)
		}
	}
	for _, u := range []string{alice, bob, carol} {
		id, err := e.st.AddUser(ctx, u, testHash(), u != bob)
		if err != nil {
			e.t.Fatal(err)
		}
		e.users[u] = id
	}
	if err := e.st.AddAlias(ctx, "info@example.com", alice); err != nil {
		e.t.Fatal(err)
	}
}

// grant records a POP/IMAP-before-SMTP grant as pop3d would.
func (e *testEnv) grant(ip, user string, window time.Duration) {
	if err := e.st.Grant(context.Background(), ip, e.users[user], window); err != nil {
		e.t.Fatal(err)
	}
}

// inbox returns the bodies in user's INBOX.
func (e *testEnv) inbox(user string) []string {
	e.t.Helper()
	return testutil.Inbox(e.t, e.st, e.users[user])
}

// queued returns the queued bodies for a remote recipient, read with
// plain SQL: the queue's typed API belongs to the queue runner.
func (e *testEnv) queued(rcpt string) []string {
	e.t.Helper()
	db, err := sql.Open("sqlite3", "file:"+e.st.Path()+"?mode=ro")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT q.body FROM queue q JOIN queue_rcpts r ON r.queue_id = q.id WHERE r.rcpt = ? ORDER BY q.id`, rcpt)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// client is a raw SMTP client over a real socket: it sends exactly what a
// test says, so it can also misbehave.
type client struct {
	t    testing.TB
	conn net.Conn
	tp   *textproto.Conn
}

// dial connects to addr from local IP from ("" = any); tlsNow dials with
// implicit TLS.
func dial(t testing.TB, addr, from string, tlsNow bool) *client {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if tlsNow {
		conn = tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c := &client{t: t, conn: conn, tp: textproto.NewConn(conn)}
	t.Cleanup(func() { conn.Close() })
	c.expect(220)
	return c
}

// cmd sends one line and returns the reply code and text.
func (c *client) cmd(format string, args ...any) (int, string) {
	c.t.Helper()
	if err := c.tp.PrintfLine(format, args...); err != nil {
		c.t.Fatalf("send %q: %v", fmt.Sprintf(format, args...), err)
	}
	return c.read()
}

func (c *client) read() (int, string) {
	c.t.Helper()
	code, msg, err := c.tp.ReadResponse(0)
	if err != nil && code == 0 {
		c.t.Fatalf("read reply: %v", err)
	}
	return code, msg
}

func (c *client) expect(want int) string {
	c.t.Helper()
	code, msg := c.read()
	if code != want {
		c.t.Fatalf("got %d %s, want %d", code, msg, want)
	}
	return msg
}

// must sends a command and fails the test unless the reply has code want.
func (c *client) must(want int, format string, args ...any) string {
	c.t.Helper()
	code, msg := c.cmd(format, args...)
	if code != want {
		c.t.Fatalf("%s: got %d %s, want %d", fmt.Sprintf(format, args...), code, msg, want)
	}
	return msg
}

func (c *client) ehlo() string { c.t.Helper(); return c.must(250, "EHLO client.test") }

func (c *client) starttls() {
	c.t.Helper()
	c.must(220, "STARTTLS")
	c.switchTLS()
	c.ehlo()
}

// switchTLS starts TLS on the connection after a 220 to STARTTLS.
func (c *client) switchTLS() {
	c.conn = tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true})
	c.tp = textproto.NewConn(c.conn)
}

// authPlain runs AUTH PLAIN with an initial response.
func (c *client) authPlain(authz, user, pass string) (int, string) {
	c.t.Helper()
	ir := base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + user + "\x00" + pass))
	return c.cmd("AUTH PLAIN %s", ir)
}

// authLogin runs AUTH LOGIN without an initial response.
func (c *client) authLogin(user, pass string) (int, string) {
	c.t.Helper()
	if code, msg := c.cmd("AUTH LOGIN"); code != 334 {
		return code, msg
	}
	if code, msg := c.cmd("%s", base64.StdEncoding.EncodeToString([]byte(user))); code != 334 {
		return code, msg
	}
	return c.cmd("%s", base64.StdEncoding.EncodeToString([]byte(pass)))
}

// data sends DATA and a body given with CRLF line ends (dot-stuffing is
// the caller's business) followed by the end marker.
func (c *client) data(body string) (int, string) {
	c.t.Helper()
	if code, msg := c.cmd("DATA"); code != 354 {
		return code, msg
	}
	if _, err := c.conn.Write([]byte(body + ".\r\n")); err != nil {
		c.t.Fatal(err)
	}
	return c.read()
}

func testBody(subject string) string {
	return "From: a@example.net\r\nSubject: " + subject + "\r\n\r\nHello.\r\n"
}

// syncBuffer is a log sink safe for concurrent writers, with a check for
// what was logged.
type syncBuffer struct{ testutil.SyncBuffer }

func (s *syncBuffer) contains(sub string) bool { return strings.Contains(s.String(), sub) }

func encodeB64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func tlsClient(c net.Conn) net.Conn { return tls.Client(c, &tls.Config{InsecureSkipVerify: true}) }

func newText(c net.Conn) *textproto.Conn { return textproto.NewConn(c) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }
