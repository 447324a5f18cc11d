package imapserver_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// countingListener counts the Write calls on the connections it accepts.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, writes: &l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// mailsuite: the FETCH responses of one command, and the updates after
// one, go out in one write with the command's status response, not in one
// write each. (That IDLE still sends each update at once is tested by
// imapd's IDLE tests, TestIdleClaimsRecent among them.)
func TestResponsesBuffered(t *testing.T) {
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("u", "p")
	user.Create("INBOX", nil)
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		InsecureAuth: true,
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	go srv.Serve(cl)
	defer srv.Close()

	c, n := dialBuffered(t, ln.Addr().String()), 0
	a, b := dialBuffered(t, ln.Addr().String()), 0
	a.cmd(&n, "LOGIN u p")
	const msgs = 20
	for i := 0; i < msgs; i++ {
		msg := fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)
		a.cmd(&n, fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg))
	}
	a.cmd(&n, "SELECT INBOX")
	c.cmd(&b, "LOGIN u p")
	c.cmd(&b, "SELECT INBOX")

	before := cl.writes.Load()
	lines := a.cmd(&n, fmt.Sprintf("FETCH 1:%d (UID FLAGS)", msgs))
	if len(lines) != msgs+1 {
		t.Fatalf("FETCH answered %d lines, want %d: %q", len(lines), msgs+1, lines)
	}
	if writes := cl.writes.Load() - before; writes > 1 {
		t.Errorf("FETCH of %d messages took %d writes, want 1", msgs, writes)
	}

	c.cmd(&b, fmt.Sprintf("STORE 1:%d +FLAGS.SILENT (\\Seen)", msgs))
	before = cl.writes.Load()
	lines = a.cmd(&n, "NOOP")
	if len(lines) != msgs+1 {
		t.Fatalf("NOOP answered %d lines, want %d updates and OK: %q", len(lines), msgs, lines)
	}
	if writes := cl.writes.Load() - before; writes > 1 {
		t.Errorf("NOOP with %d updates took %d writes, want 1", msgs, writes)
	}

}

// bufConn is a raw client connection for TestResponsesBuffered.
type bufConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialBuffered(t *testing.T, addr string) *bufConn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	bc := &bufConn{t: t, c: c, br: bufio.NewReader(c)}
	bc.line() // greeting
	return bc
}

func (bc *bufConn) line() string {
	bc.t.Helper()
	l, err := bc.br.ReadString('\n')
	if err != nil {
		bc.t.Fatalf("read: %v", err)
	}
	return l
}

func (bc *bufConn) send(n *int, s string) string {
	bc.t.Helper()
	*n++
	tag := fmt.Sprintf("a%d", *n)
	fmt.Fprintf(bc.c, "%s %s\r\n", tag, s)
	return tag
}

// cmd sends a command and returns the lines of its answer, the status
// last; anything but OK fails the test.
func (bc *bufConn) cmd(n *int, s string) []string {
	bc.t.Helper()
	tag := bc.send(n, s)
	var lines []string
	for {
		l := bc.line()
		lines = append(lines, l)
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				bc.t.Fatalf("%s: %s", s, l)
			}
			return lines
		}
	}
}
