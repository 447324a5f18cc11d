package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/shared/config"
	"mailsuite/shared/tlsconf"
	"mailsuite/store"
)

// Test account.
const (
	testUser = "alice@example.com"
	testPass = "correct horse"
)

// testHash is computed once: argon2id is deliberately slow.
var testHash = testutil.HashOnce(testPass)

// testEnv is an in-process pop3d on loopback with a real store.
type testEnv struct {
	t        testing.TB
	srv      *server
	st       *store.Store
	dir      string
	addr     string // plain, STLS offered
	tlsAddr  string // implicit TLS
	certPool *x509.CertPool
	userID   int64
	inbox    int64
	logBuf   *testutil.SyncBuffer
}

type envOption func(*server)

func withPlaintext(s *server) { s.allowPlaintext = true }

// newEnv starts a server with one user. Plaintext login follows the
// production default (off) unless withPlaintext is given.
func newEnv(t testing.TB, opts ...envOption) *testEnv {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "mail.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if err := st.AddDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	uid, err := st.AddUser(ctx, testUser, testHash(), true)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := st.MailboxByName(ctx, uid, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath, clientTLS := testutil.SelfSigned(t, dir)
	tlsCfg, err := tlsconf.Load(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}

	logBuf := &testutil.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := config.Default()
	cfg.Hostname = "pop3.test"
	srv := newServer(cfg, st, log)
	srv.tls = tlsCfg
	srv.failureDelay = 0
	srv.lockWait = 0
	for _, o := range opts {
		o(srv)
	}
	ln := listen(t)
	tln := listen(t)
	go srv.serve(ln, false)
	go srv.serve(tln, true)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.shutdown(ctx)
	})
	return &testEnv{t: t, srv: srv, st: st, dir: dir, addr: ln.Addr().String(), tlsAddr: tln.Addr().String(),
		certPool: clientTLS.RootCAs, userID: uid, inbox: inbox.ID, logBuf: logBuf}
}

func listen(t testing.TB) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// deliver appends a message to the test user's INBOX.
func (e *testEnv) deliver(body string) uint32 {
	e.t.Helper()
	uid, err := e.st.Append(context.Background(), e.inbox, nil, time.Now(), []byte(body))
	if err != nil {
		e.t.Fatal(err)
	}
	return uid
}

// count returns the number of messages in the INBOX.
func (e *testEnv) count() int {
	e.t.Helper()
	msgs, err := e.st.Messages(context.Background(), e.inbox)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(msgs)
}

// testconn is a line-level POP3 client for tests.
type testconn struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// dial connects and checks the greeting.
func (e *testEnv) dial() *testconn {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	tc := &testconn{t: e.t, conn: c, r: bufio.NewReader(c)}
	e.t.Cleanup(func() { c.Close() })
	tc.expect("+OK ")
	return tc
}

// login dials and logs in with USER/PASS (plaintext must be allowed).
func (e *testEnv) login() *testconn {
	e.t.Helper()
	c := e.dial()
	c.cmd("USER "+testUser, "+OK")
	c.cmd("PASS "+testPass, "+OK")
	return c
}

// starttls upgrades the connection after STLS.
func (c *testconn) starttls(pool *x509.CertPool) {
	c.t.Helper()
	c.cmd("STLS", "+OK")
	tc := tls.Client(c.conn, &tls.Config{ServerName: "localhost", RootCAs: pool})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn = tc
	c.r = bufio.NewReader(tc)
}

func (c *testconn) send(line string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

// readLine reads one reply line without CRLF.
func (c *testconn) readLine() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("reply %q does not end in CRLF", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// expect reads a line and checks its prefix.
func (c *testconn) expect(prefix string) string {
	c.t.Helper()
	l := c.readLine()
	if !strings.HasPrefix(l, prefix) {
		c.t.Fatalf("got %q, want prefix %q", l, prefix)
	}
	return l
}

// cmd sends a line and checks the first reply line's prefix.
func (c *testconn) cmd(line, prefix string) string {
	c.t.Helper()
	c.send(line)
	return c.expect(prefix)
}

// multi reads a multi-line body up to "." and undoes dot-stuffing.
func (c *testconn) multi() []string {
	c.t.Helper()
	var out []string
	for {
		l := c.readLine()
		if l == "." {
			return out
		}
		out = append(out, strings.TrimPrefix(l, "."))
	}
}

// closed checks that the server closed the connection.
func (c *testconn) closed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if l, err := c.r.ReadString('\n'); err == nil {
		c.t.Fatalf("connection still open, got %q", l)
	}
}

func msg(subject, body string) string {
	return fmt.Sprintf("From: bob@example.net\r\nTo: %s\r\nSubject: %s\r\n\r\n%s", testUser, subject, body)
}

// dialRaw connects without reading the greeting.
func (e *testEnv) dialRaw() *testconn {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return &testconn{t: e.t, conn: c, r: bufio.NewReader(c)}
}
