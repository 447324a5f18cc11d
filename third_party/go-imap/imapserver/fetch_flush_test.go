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

// mailsuite: the FETCH responses of one command go out in one write, with
// the command's status response, not in one write each.
func TestFetchResponsesBuffered(t *testing.T) {
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

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	br := bufio.NewReader(c)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	n := 0
	cmd := func(s string) []string {
		t.Helper()
		n++
		tag := fmt.Sprintf("a%d", n)
		fmt.Fprintf(c, "%s %s\r\n", tag, s)
		var lines []string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			lines = append(lines, l)
			if strings.HasPrefix(l, tag+" ") {
				if !strings.HasPrefix(l, tag+" OK") {
					t.Fatalf("%s: %s", s, l)
				}
				return lines
			}
		}
	}
	cmd("LOGIN u p")
	const msgs = 20
	for i := 0; i < msgs; i++ {
		msg := fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)
		cmd(fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg))
	}
	cmd("SELECT INBOX")
	before := cl.writes.Load()
	lines := cmd(fmt.Sprintf("FETCH 1:%d (UID FLAGS)", msgs))
	writes := cl.writes.Load() - before
	if len(lines) != msgs+1 {
		t.Fatalf("FETCH answered %d lines, want %d: %q", len(lines), msgs+1, lines)
	}
	if writes > 2 {
		t.Errorf("FETCH of %d messages took %d writes, want at most 2", msgs, writes)
	}
}
