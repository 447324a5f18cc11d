package queue

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"mailsuite/store"
)

func TestNextHopByMX(t *testing.T) {
	f := newFakeServer(t, nil)
	dns := &fakeDNS{
		mx: map[string][]*net.MX{
			"mx.test":     {{Host: "backup.mx.test.", Pref: 20}, {Host: "down.mx.test.", Pref: 10}},
			"nullmx.test": {{Host: ".", Pref: 0}},
		},
		hosts: map[string][]string{
			"down.mx.test":   {"127.0.0.11"},
			"backup.mx.test": {"127.0.0.12"},
			"implicit.test":  {"127.0.0.13"},
		},
		fail: map[string]bool{"flaky.test": true},
	}
	dialer := &redirectDialer{to: map[string]string{
		"127.0.0.12:25": f.addr, "127.0.0.13:25": f.addr, "127.0.0.1:25": f.addr}}
	cases := []struct {
		rcpt   string
		status string // "" = delivered
		errHas string
	}{
		{"a@mx.test", "", ""},       // lowest preference refused, next one works
		{"b@implicit.test", "", ""}, // no MX: the domain's A record
		{"c@[127.0.0.1]", "", ""},   // address literal
		{"d@nullmx.test", store.RcptFailed, "null MX"},
		{"e@nothing.test", store.RcptFailed, "no MX and no address"},
		{"f@flaky.test", store.RcptPending, "MX lookup"},
		{"g@[IPv6:::1]", store.RcptPending, "refused"},
		{"h@[::1]", store.RcptFailed, "malformed address literal"},
	}
	for _, c := range cases {
		t.Run(c.rcpt, func(t *testing.T) {
			e := newEnv(t)
			e.enqueue("", c.rcpt) // null sender: failures leave no bounce to look at
			before := len(f.messages())
			runOnce(t, e.runner(WithResolver(dns), WithDialer(dialer)))
			if c.status == "" {
				msgs := f.messages()
				if len(msgs) != before+1 || msgs[len(msgs)-1].to[0] != c.rcpt {
					t.Fatalf("not delivered to %s", c.rcpt)
				}
				return
			}
			if c.status == store.RcptFailed {
				if q := e.queued(); len(q) != 0 {
					t.Fatalf("queue = %+v, want the failure done with", q)
				}
				if !strings.Contains(e.logs.String(), c.errHas) {
					t.Errorf("log lacks %q", c.errHas)
				}
				return
			}
			if rc := e.onlyRcpt(); rc.Status != c.status || !strings.Contains(rc.LastError, c.errHas) {
				t.Errorf("recipient = %+v, want %s with %q", rc, c.status, c.errHas)
			}
		})
	}
}

func TestRelayLoggedByMXName(t *testing.T) {
	e := newEnv(t)
	f := newFakeServer(t, nil)
	dns := &fakeDNS{mx: map[string][]*net.MX{"mx.test": {{Host: "in.mx.test.", Pref: 5}}},
		hosts: map[string][]string{"in.mx.test": {"127.0.0.12"}}}
	e.enqueue("alice@local.test", "a@mx.test")
	runOnce(t, e.runner(WithResolver(dns), WithDialer(&redirectDialer{to: map[string]string{"127.0.0.12:25": f.addr}})))
	if !strings.Contains(e.logs.String(), "relay=in.mx.test") {
		t.Errorf("log does not name the MX host:\n%s", e.logs)
	}
}

// TestTwoRunnersNoDoubleDelivery runs two runners on two handles of one
// store (two smtpd processes): every message arrives exactly once.
func TestTwoRunnersNoDoubleDelivery(t *testing.T) {
	e := newEnv(t)
	f := newFakeServer(t, nil)
	e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
	const n = 60
	for range n {
		e.enqueue("alice@local.test", "bob@remote.test")
	}
	r1 := e.runner()
	r2 := e.runnerOn(e.open())
	start(t, r1)
	start(t, r2)
	waitFor(t, "all messages", func() bool { return len(f.messages()) >= n && len(e.queued()) == 0 })
	seen := map[string]int{}
	for _, m := range f.messages() {
		seen[messageID(m.data)]++
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("message %s delivered %d times", id, c)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages delivered, want %d", len(seen), n)
	}
}

func messageID(data string) string {
	for _, l := range strings.Split(data, "\r\n") {
		if strings.HasPrefix(l, "Message-ID:") {
			return l
		}
	}
	return ""
}

// TestRestartInTheMiddle stops a runner while its delivery hangs at the
// end of data: the message stays queued, untouched, and a new runner on
// a reopened store (after the remote is fixed) delivers it.
func TestRestartInTheMiddle(t *testing.T) {
	e := newEnv(t)
	hang := scriptServer(t, converse(map[string]string{".": "<hang>"}))
	e.cfg.SMTPD.Queue.Routes["remote.test"] = hang
	e.enqueue("alice@local.test", "bob@remote.test")
	r1 := e.runner()
	r1.grace = 300 * time.Millisecond
	stop := start(t, r1)
	// Wait until the first runner holds the lease and is mid-delivery.
	waitFor(t, "the runner to lead", func() bool { return strings.Contains(e.logs.String(), "queue runner active") })
	time.Sleep(100 * time.Millisecond)
	stop()
	if strings.Contains(e.logs.String(), "msg=delivered") {
		t.Fatal("delivered to a server that never answered")
	}
	if rc := e.onlyRcpt(); rc.Status != store.RcptPending || rc.Attempts != 0 {
		t.Fatalf("after an abandoned delivery: %+v, want pending and no attempt counted", rc)
	}

	f := newFakeServer(t, nil)
	e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
	st2 := e.open()
	r2 := e.runnerOn(st2)
	start(t, r2)
	waitFor(t, "delivery after restart", func() bool { return len(f.messages()) == 1 })
	waitFor(t, "queue to empty", func() bool { return len(e.queued()) == 0 })
}

// TestStopLetsTransactionFinish: a runner stopped while the remote has a
// message's data but has not answered yet waits for the answer and
// records it, so the message is not sent again by the next runner.
func TestStopLetsTransactionFinish(t *testing.T) {
	e := newEnv(t)
	reached, gate := make(chan struct{}), make(chan struct{})
	replies := converse(map[string]string{".": "250 taken"})
	e.cfg.SMTPD.Queue.Routes["remote.test"] = scriptServer(t, func(c net.Conn, br *bufio.Reader) {
		replies(&gatedConn{Conn: c, reached: reached, gate: gate}, br)
	})
	var open sync.Once
	t.Cleanup(func() { open.Do(func() { close(gate) }) }) // before the server's
	e.enqueue("alice@local.test", "bob@remote.test")
	stop := start(t, e.runner())
	<-reached
	stopped := make(chan struct{})
	go func() {
		stop()
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("the runner stopped in the middle of a transaction")
	case <-time.After(200 * time.Millisecond):
	}
	open.Do(func() { close(gate) })
	<-stopped
	if !strings.Contains(e.logs.String(), "msg=delivered") {
		t.Errorf("the reply to the finished transaction was not recorded; log:\n%s", e.logs)
	}
	if q := e.queued(); len(q) != 0 {
		t.Errorf("still queued after its delivery: %+v", q)
	}
}

// gatedConn holds back the reply to the end of data until gate closes,
// and closes reached when it does.
type gatedConn struct {
	net.Conn
	reached, gate chan struct{}
}

func (g *gatedConn) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("250 taken")) {
		close(g.reached)
		<-g.gate
	}
	return g.Conn.Write(p)
}

// TestPlanSkipsReleasedDuringScan: a recipient whose worker finishes
// while a scan is reading (the scan saw it still due) is not handed out
// again; one released before the scan began is.
func TestPlanSkipsReleasedDuringScan(t *testing.T) {
	r := newEnv(t).runner()
	due := []store.DueRcpt{{ID: 7, QueueID: 3, Sender: "alice@local.test", Rcpt: "bob@remote.test"}}
	jobs := r.plan(due)
	if len(jobs) != 1 {
		t.Fatalf("%d jobs for one due recipient", len(jobs))
	}
	r.beginScan()
	r.releaseAll(jobs[0].msgs)
	if again := r.plan(due); len(again) != 0 {
		t.Fatal("a recipient released during the scan was handed out again")
	}
	r.beginScan()
	if again := r.plan(due); len(again) != 1 {
		t.Fatal("a due recipient released before the scan was not handed out")
	}
}

// TestDeadHolderLeaseTakenOver: a runner that was SIGKILLed leaves its
// lease row; a new process on the same host takes it over at once instead
// of waiting for it to expire.
func TestDeadHolderLeaseTakenOver(t *testing.T) {
	e := newEnv(t)
	f := newFakeServer(t, nil)
	e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
	dead := strings.Join(append(strings.SplitN(defaultHolder(), ":", 3)[:1], "2147483646", "dead"), ":")
	if !holderDead(dead) {
		t.Fatalf("%s not seen as dead", dead)
	}
	ok, _, err := e.st.AcquireLease(context.Background(), leaseName, dead, "", time.Hour, time.Now())
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	e.enqueue("alice@local.test", "bob@remote.test")
	start(t, e.runner())
	waitFor(t, "delivery", func() bool { return len(f.messages()) == 1 })

	// A live holder (this process, another runner) is respected.
	if holderDead(defaultHolder()) {
		t.Error("this process seen as dead")
	}
}

func TestKickAndFlushFromAnotherProcess(t *testing.T) {
	e := newEnv(t)
	f := newFakeServer(t, nil)
	f.tempfail = 1
	e.cfg.SMTPD.Queue.Routes["remote.test"] = f.addr
	e.enqueue("alice@local.test", "bob@remote.test")
	start(t, e.runner())
	waitFor(t, "first attempt", func() bool {
		q := e.queued()
		return len(q) == 1 && q[0].Rcpts[0].Attempts == 1
	})
	// mailctl queue flush, through its own store handle.
	n, err := e.open().FlushQueue(context.Background(), e.clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("flush: %d, %v", n, err)
	}
	waitFor(t, "delivery after flush", func() bool { return len(f.messages()) == 1 })
}
