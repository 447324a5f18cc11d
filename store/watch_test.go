package store

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mailsuite/internal/pgtest"
)

// notifySQL is the notification the changes table's trigger sends.
const notifySQL = `SELECT pg_notify('` + ChangesChannel + `', '')`

// waitUp waits until f listens, and returns its wake channel then.
func waitUp(t *testing.T, f *changeFeed) <-chan struct{} {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		wake, up := f.subscribe()
		if up {
			return wake
		}
		if time.Now().After(deadline) {
			t.Fatal("the change feed never listened")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func woken(t *testing.T, wake <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-wake:
	case <-time.After(time.Minute):
		t.Fatalf("no wake-up after %s", what)
	}
}

// TestChangeFeedNotifiesAndReconnects: a NOTIFY committed by another
// connection (another host's smtpd) wakes the watchers; one in a
// transaction that rolls back does not; and after the listening
// connection is lost, the feed listens again, waking the watchers when
// it does (they may have missed a change meanwhile).
func TestChangeFeedNotifiesAndReconnects(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	f := newChangeFeed(dsn)
	defer f.close()
	other := plainConn(t, dsn)

	wake := waitUp(t, f)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, notifySQL); err != nil {
		t.Fatal(err)
	}
	tx.Rollback(ctx)
	if _, err := other.Exec(ctx, notifySQL); err != nil {
		t.Fatal(err)
	}
	woken(t, wake, "a committed notification")
	wake, _ = f.subscribe()
	// The rolled-back one arrives never: the first wake-up was the
	// committed one, and none is pending now.
	select {
	case <-wake:
		t.Fatal("woken by a notification that was rolled back or already seen")
	case <-time.After(200 * time.Millisecond):
	}

	if _, err := other.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	woken(t, wake, "the connection was lost")
	wake = waitUp(t, f)
	if _, err := other.Exec(ctx, notifySQL); err != nil {
		t.Fatal(err)
	}
	woken(t, wake, "a notification after reconnecting")
}

// TestChangesNotify: every commit that writes the change log (a delivery,
// a flag change, an expunge) sends one notification on ChangesChannel,
// which another host's store hears.
func TestChangesNotify(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	s := openHost(t, dsn)
	u := seed(t, s)
	inbox := inbox(t, s, u.ID)
	l := plainConn(t, dsn, ChangesChannel)
	heard := func(what string) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if _, err := l.WaitForNotification(wctx); err != nil {
			t.Fatalf("no notification after %s: %v", what, err)
		}
	}
	env := Envelope{From: "x@remote.test", Local: []int64{u.ID}}
	if err := s.Accept(ctx, env, []byte("Subject: 1\r\n\r\n1\r\n")); err != nil {
		t.Fatal(err)
	}
	heard("a delivery")
	if err := s.StoreFlags(ctx, inbox.ID, []uint32{1}, FlagsSet, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	heard("a flag change")
	if err := s.Expunge(ctx, inbox.ID, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	heard("an expunge")
}

// TestWaitChange: WaitChange returns on either backend (after a
// notification or the poll), and at once with ctx's error when ctx ends.
func TestWaitChange(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	cur, err := s.StartChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Accept(ctx, Envelope{From: "x@remote.test", Local: []int64{u.ID}}, []byte("Subject: 1\r\n\r\n1\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitChange(ctx, cur.Clone()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ChangesWithFlags(ctx, &cur, func(int64) bool { return false }); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.WaitChange(cctx, cur); err != context.Canceled {
		t.Fatalf("WaitChange with an ended context: %v", err)
	}
}

// stallProxy forwards loopback TCP connections to addr until stall: then
// the connections it carries stop forwarding without closing, as a
// failover or a network cut leaves them half-open, while new ones are
// forwarded as before.
type stallProxy struct {
	ln     net.Listener
	addr   string
	closed chan struct{}

	mu      sync.Mutex
	conns   []net.Conn // both ends of every connection; guarded by mu
	stalled bool       // guarded by mu
}

func newStallProxy(t *testing.T, addr string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, addr: addr, closed: make(chan struct{})}
	t.Cleanup(p.close)
	go p.serve()
	return p
}

func (p *stallProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.addr)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

// pipe copies until a read fails: at stall (a read deadline in the past)
// it leaves both ends open until the proxy closes.
func (p *stallProxy) pipe(dst, src net.Conn) {
	io.Copy(dst, src)
	p.mu.Lock()
	stalled := p.stalled
	p.mu.Unlock()
	if stalled {
		<-p.closed
	}
	dst.Close()
	src.Close()
}

// stall stops every connection open now.
func (p *stallProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
	for _, c := range p.conns {
		c.SetReadDeadline(time.Now())
	}
	p.conns = nil
}

func (p *stallProxy) close() {
	p.ln.Close()
	close(p.closed)
}

// TestChangeFeedNoticesStalledConnection: when the listening connection
// goes silent without closing (a failover, a network cut), the feed
// notices by its ping, listens again on a new connection and moves the
// credentials generation, since changes may have gone unheard; without
// the ping the credential stamp would stay known and changes unheard.
func TestChangeFeedNoticesStalledConnection(t *testing.T) {
	dsn := pgtest.DSN(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := newStallProxy(t, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))))
	_, port, _ := net.SplitHostPort(p.ln.Addr().String())
	f := startChangeFeed(strings.Replace(dsn, fmt.Sprintf("port=%d", cfg.Port), "port="+port, 1), 100*time.Millisecond)
	defer f.close()
	waitUp(t, f)
	before := f.credentials()
	p.stall()
	deadline := time.Now().Add(time.Minute)
	for g := f.credentials(); g == 0 || g == before; g = f.credentials() {
		if time.Now().After(deadline) {
			t.Fatal("the feed never noticed its connection stalled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
