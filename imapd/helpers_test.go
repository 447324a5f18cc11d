package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

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

// testEnv is an in-process imapd on loopback with a real store file.
type testEnv struct {
	t       testing.TB
	srv     *server
	st      *store.Store
	dbPath  string
	addr    string // STARTTLS offered
	tlsAddr string // implicit TLS
	tlsConf *tls.Config
	userID  int64
	inbox   store.Mailbox
	log     *testutil.SyncBuffer
}

type envConfig struct {
	plaintext bool                 // LOGIN before TLS; see withPlaintext
	server    func(*server)        // changes the server before it serves
	config    func(*config.Config) // changes the configuration first
	limits    store.Limits         // none unless withQuota
}

// newEnv starts imapd with one user. Plaintext login follows the
// production default (off) unless withPlaintext is given.
func newEnv(t testing.TB, opts ...func(*envConfig)) *testEnv {
	t.Helper()
	var ec envConfig
	for _, o := range opts {
		o(&ec)
	}
	dir := t.TempDir()
	e := &testEnv{t: t, dbPath: filepath.Join(dir, "mail.db"), log: &testutil.SyncBuffer{}}
	st := testutil.OpenStore(t, dir, store.WithLimits(ec.limits))
	e.st = st
	ctx := context.Background()
	var err error
	if err := st.AddDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	if e.userID, err = st.AddUser(ctx, testUser, testHash(), true); err != nil {
		t.Fatal(err)
	}
	if e.inbox, err = st.MailboxByName(ctx, e.userID, "INBOX"); err != nil {
		t.Fatal(err)
	}
	certPath, keyPath, clientTLS := testutil.SelfSigned(t, dir)
	certs, err := tlsconf.NewCertStore(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	e.tlsConf = clientTLS

	cfg := config.Default()
	cfg.SMTPD.MaxMessageBytes = 1 << 20
	if ec.config != nil {
		ec.config(cfg)
	}
	log := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sctx, cancel := context.WithCancel(context.Background())
	srv, err := newServer(sctx, cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	srv.failureDelay = 0
	if ec.server != nil {
		ec.server(srv)
	}
	e.srv = srv
	done := make(chan struct{})
	go func() { srv.hub.run(sctx); close(done) }()
	imap := srv.imapServer(certs.Config(), ec.plaintext)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr, e.tlsAddr = ln.Addr().String(), tln.Addr().String()
	go imap.Serve(srv.listen(ln, nil))
	go imap.Serve(srv.listen(tln, certs.Config()))
	t.Cleanup(func() {
		cancel()
		imap.Close()
		<-done
	})
	return e
}

// withPlaintext allows LOGIN before TLS, for tests that log in over the
// plain port.
func withPlaintext(c *envConfig) { c.plaintext = true }

// client dials the plain port, starts TLS and logs in with imapclient.
func (e *testEnv) client(h *imapclient.UnilateralDataHandler) *imapclient.Client {
	e.t.Helper()
	c, err := imapclient.DialStartTLS(e.addr, &imapclient.Options{TLSConfig: e.tlsConf, UnilateralDataHandler: h})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// deliver puts a message into the user's INBOX the way smtpd does.
func (e *testEnv) deliver(subject string) {
	e.t.Helper()
	if err := e.st.Accept(context.Background(), store.Envelope{From: "bob@example.org", Local: []int64{e.userID}}, testMessage(subject)); err != nil {
		e.t.Fatal(err)
	}
}

func testMessage(subject string) []byte {
	return []byte("From: Bob <bob@example.org>\r\nTo: alice@example.com\r\nSubject: " + subject +
		"\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") +
		"@example.org>\r\n\r\nHello " + subject + "\r\n")
}

// textConn is a raw IMAP connection for exact-response tests.
type textConn struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
	n int
}

func (e *testEnv) dial() *textConn {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	tc := &textConn{t: e.t, c: c, r: bufio.NewReader(c)}
	tc.line() // greeting
	return tc
}

func (tc *textConn) line() string {
	tc.t.Helper()
	tc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := tc.r.ReadString('\n')
	if err != nil {
		tc.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

func (tc *textConn) send(s string) {
	tc.t.Helper()
	if _, err := io.WriteString(tc.c, s); err != nil {
		tc.t.Fatal(err)
	}
}

// cmd sends a tagged command and returns the untagged lines and the tagged
// reply (without the tag).
func (tc *textConn) cmd(format string, args ...any) ([]string, string) {
	tc.t.Helper()
	tc.n++
	tag := fmt.Sprintf("t%d", tc.n)
	tc.send(tag + " " + fmt.Sprintf(format, args...) + "\r\n")
	var untagged []string
	for {
		l := tc.line()
		if strings.HasPrefix(l, tag+" ") {
			return untagged, strings.TrimPrefix(l, tag+" ")
		}
		untagged = append(untagged, l)
	}
}

// login logs in with LOGIN; on the plain port that needs withPlaintext.
func (tc *textConn) login() {
	tc.t.Helper()
	if _, r := tc.cmd("LOGIN %s %q", testUser, testPass); !strings.HasPrefix(r, "OK") {
		tc.t.Fatalf("login: %s", r)
	}
}
