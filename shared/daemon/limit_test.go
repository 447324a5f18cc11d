package daemon

import (
	"bufio"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/shared/config"
)

func key(s string) netip.Prefix {
	return ClientKey(&net.TCPAddr{IP: net.ParseIP(s), Port: 1234})
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"}, // v4-mapped is the v4 client
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"},
		{"2001:db8:1:2::1", "2001:db8:1:2::2"},
	} {
		if key(tc.a) != key(tc.b) {
			t.Errorf("%s and %s counted apart (%v, %v)", tc.a, tc.b, key(tc.a), key(tc.b))
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"192.0.2.1", "192.0.2.2"},
		{"2001:db8:1:2::1", "2001:db8:1:3::1"},
		{"127.0.0.1", "127.0.0.2"},
	} {
		if key(tc.a) == key(tc.b) {
			t.Errorf("%s and %s counted together (%v)", tc.a, tc.b, key(tc.a))
		}
	}
	if got := key("2001:db8:1:2:3:4:5:6").String(); got != "2001:db8:1:2::/64" {
		t.Errorf("IPv6 key = %s, want the /64", got)
	}
}

func TestConnLimiterPerIP(t *testing.T) {
	l := NewConnLimiter(config.ConnLimits{Max: 10, PerIP: 2})
	a, b := key("2001:db8::1"), key("2001:db8::2") // same /64
	if !l.Acquire(a) || !l.Acquire(b) {
		t.Fatal("could not take two slots of two")
	}
	if l.Acquire(key("2001:db8::3")) {
		t.Fatal("took a third slot for one /64")
	}
	if !l.Acquire(key("192.0.2.1")) {
		t.Fatal("another client refused")
	}
	l.Release(a)
	if !l.Acquire(a) {
		t.Fatal("slot not returned by Release")
	}
	if l.InUse() != 3 {
		t.Errorf("InUse = %d, want 3", l.InUse())
	}
}

func TestConnLimiterTotal(t *testing.T) {
	l := NewConnLimiter(config.ConnLimits{Max: 2, PerIP: 5})
	if !l.Acquire(key("192.0.2.1")) || !l.Acquire(key("192.0.2.2")) {
		t.Fatal("could not take two slots of two")
	}
	if l.Acquire(key("192.0.2.3")) {
		t.Fatal("took a third slot of two")
	}
	l.Release(key("192.0.2.3")) // never acquired: no effect
	if l.InUse() != 2 {
		t.Errorf("InUse = %d after a stray Release, want 2", l.InUse())
	}
}

func TestConnLimiterUnlimited(t *testing.T) {
	l := NewConnLimiter(config.ConnLimits{})
	for range 1000 {
		if !l.Acquire(key("192.0.2.1")) {
			t.Fatal("zero limits refused a connection")
		}
	}
}

func TestConnLimiterConcurrent(t *testing.T) {
	const perIP = 5
	l := NewConnLimiter(config.ConnLimits{Max: 100, PerIP: perIP})
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.Acquire(key("192.0.2.1")) {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if granted != perIP || l.InUse() != perIP {
		t.Errorf("granted %d, in use %d; want %d", granted, l.InUse(), perIP)
	}
}

// TestLimitListener: over its per-address budget 127.0.0.1 gets the
// refusal and is closed, 127.0.0.2 is still admitted, and closing an
// admitted connection frees its slot.
func TestLimitListener(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := NewConnLimiter(config.ConnLimits{Max: 10, PerIP: 2})
	ln := LimitListener(raw, lim, "-ERR busy\r\n")
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("+OK\r\n"))
			accepted <- c
		}
	}()
	addr := raw.Addr().String()
	greet := func(from string) string {
		t.Helper()
		c := testutil.DialFrom(t, from, addr)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, _ := bufio.NewReader(c).ReadString('\n')
		return l
	}
	for i := range 2 {
		if l := greet("127.0.0.1"); l != "+OK\r\n" {
			t.Fatalf("connection %d got %q", i+1, l)
		}
	}
	if l := greet("127.0.0.1"); l != "-ERR busy\r\n" {
		t.Fatalf("third connection from 127.0.0.1 got %q, want the refusal", l)
	}
	if l := greet("127.0.0.2"); l != "+OK\r\n" {
		t.Fatalf("127.0.0.2 got %q", l)
	}
	first := <-accepted
	first.Close()
	first.Close() // a second Close releases nothing more
	if l := greet("127.0.0.1"); l != "+OK\r\n" {
		t.Fatalf("after a close 127.0.0.1 got %q", l)
	}
	if n := lim.InUse(); n != 3 {
		t.Errorf("InUse = %d, want 3", n)
	}
}
