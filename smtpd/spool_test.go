package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"mailsuite/shared/config"
)

// largeEnv is a test server that takes messages up to 32 MiB.
func largeEnv(t *testing.T) *testEnv {
	return newEnv(t, func(c *config.Config) { c.SMTPD.MaxMessageBytes = 32 << 20 })
}

// largeBody is a message of about size bytes with varied lines, some of
// them starting with a dot; stuffed is the same message as sent in DATA.
func largeBody(size int) (body, stuffed string) {
	rnd := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("Subject: large\r\n\r\n")
	for b.Len() < size {
		line := fmt.Sprintf("%d %s", rnd.IntN(1_000_000), strings.Repeat("abcdefghij", rnd.IntN(9)))
		if rnd.IntN(10) == 0 {
			line = "." + line
		}
		b.WriteString(line + "\r\n")
	}
	body = b.String()
	stuffed = strings.ReplaceAll(body, "\r\n.", "\r\n..")
	return body, stuffed
}

// spoolFiles returns how many spool files this process holds open and
// their total size, read through /proc/self/fd: the files are unlinked.
func spoolFiles(t testing.TB, e *testEnv) (n int, size int64) {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	for _, fd := range fds {
		p := filepath.Join("/proc/self/fd", fd.Name())
		target, err := os.Readlink(p)
		if err != nil || !strings.HasPrefix(target, e.srv.spoolDir+"/"+spoolPrefix) {
			continue
		}
		n++
		if fi, err := os.Stat(p); err == nil {
			size += fi.Size()
		}
	}
	return n, size
}

// waitSpool polls (bounded) until ok says the spool files are as wanted.
func waitSpool(t testing.TB, e *testEnv, what string, ok func(n int, size int64) bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, size := spoolFiles(t, e)
		if ok(n, size) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("spool files: %d open, %d bytes; want %s", n, size, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func noSpoolLeft(t testing.TB, e *testEnv) {
	t.Helper()
	waitSpool(t, e, "none", func(n int, _ int64) bool { return n == 0 })
	entries, _ := os.ReadDir(e.srv.spoolDir)
	if len(entries) != 0 {
		t.Fatalf("%d files left in %s", len(entries), e.srv.spoolDir)
	}
}

// TestDataLarge: messages far larger than a session keeps in memory are
// stored byte for byte, through DATA and through BDAT, and leave no
// spool file behind.
func TestDataLarge(t *testing.T) {
	e := largeEnv(t)
	body, stuffed := largeBody(12 << 20)

	c := startTx(t, e)
	c.conn.SetDeadline(time.Now().Add(2 * time.Minute))
	if code, msg := c.data(stuffed); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	c.must(250, "MAIL FROM:<sender@far.test>")
	c.must(250, "RCPT TO:<%s>", alice)
	const chunk = 3 << 20
	for off := 0; off < len(body); off += chunk {
		part := body[off:min(off+chunk, len(body))]
		last := ""
		if off+chunk >= len(body) {
			last = " LAST"
		}
		fmt.Fprintf(c.conn, "BDAT %d%s\r\n%s", len(part), last, part)
		if code, msg := c.read(); code != 250 {
			t.Fatalf("BDAT: %d %s", code, msg)
		}
	}

	got := e.inbox(alice)
	if len(got) != 2 {
		t.Fatalf("inbox has %d messages", len(got))
	}
	for i, m := range got {
		if !strings.HasPrefix(m, "Return-Path: <sender@far.test>\r\nAuthentication-Results: mx.example.com;") ||
			!strings.Contains(m, "\r\nReceived: ") || !strings.HasSuffix(m, "\r\n"+body) {
			t.Errorf("message %d (%d bytes) is not the %d bytes sent", i, len(m), len(body))
		}
	}
	noSpoolLeft(t, e)
}

// TestDataTooLargeEarly: a message over max_message_bytes is refused as
// soon as the limit is passed, before its end, and the session stays in
// step.
func TestDataTooLargeEarly(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.SMTPD.MaxMessageBytes = 3 << 20 })
	c := startTx(t, e)
	c.conn.SetDeadline(time.Now().Add(2 * time.Minute))
	c.must(354, "DATA")
	line := strings.Repeat("x", 98) + "\r\n"
	if _, err := c.conn.Write([]byte(strings.Repeat(line, (4<<20)/len(line)))); err != nil {
		t.Fatal(err)
	}
	code, msg := c.read() // no end of data yet
	if code != 552 || !strings.HasPrefix(msg, "5.3.4") {
		t.Fatalf("got %d %s, want 552 5.3.4", code, msg)
	}
	fmt.Fprintf(c.conn, "more\r\n.\r\n")
	c.must(250, "NOOP")
	c.must(221, "QUIT")
	if n := len(e.inbox(alice)); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
	noSpoolLeft(t, e)
}

// TestDataRefusedSpilled: a bare CR, bare LF or NUL after the first MiB,
// where the message is already in its spool file, is refused like one at
// the start.
func TestDataRefusedSpilled(t *testing.T) {
	e := largeEnv(t)
	_, clean := largeBody(3 << 20)
	for _, bad := range []string{"bare\rCR\r\n", "bare\nLF\r\n", "NUL\x00\r\n", "CR\r\r\n"} {
		t.Run(fmt.Sprintf("%q", bad), func(t *testing.T) {
			c := startTx(t, e)
			c.conn.SetDeadline(time.Now().Add(2 * time.Minute))
			code, msg := c.data(clean + bad + "tail\r\n")
			if code != 550 || !strings.HasPrefix(msg, "5.6.0") {
				t.Fatalf("got %d %s, want 550 5.6.0", code, msg)
			}
			c.must(250, "NOOP")
		})
	}
	if n := len(e.inbox(alice)); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
	noSpoolLeft(t, e)
}

// TestDisconnectMidDataSpilled: a client that goes away in the middle of
// a large message leaves no spool file open or on disk.
func TestDisconnectMidDataSpilled(t *testing.T) {
	e := largeEnv(t)
	c := startTx(t, e)
	c.conn.SetDeadline(time.Now().Add(2 * time.Minute))
	c.must(354, "DATA")
	_, stuffed := largeBody(3 << 20)
	if _, err := c.conn.Write([]byte(stuffed)); err != nil {
		t.Fatal(err)
	}
	waitSpool(t, e, "one", func(n int, _ int64) bool { return n == 1 })
	c.conn.Close()
	noSpoolLeft(t, e)
	if n := len(e.inbox(alice)); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}

// TestDataMemoryBounded: many clients in the middle of large messages do
// not make the server hold those messages in memory.
func TestDataMemoryBounded(t *testing.T) {
	e := largeEnv(t)
	const conns, size = 20, 6 << 20
	_, stuffed := largeBody(size)
	payload := []byte(stuffed)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var wg sync.WaitGroup
	clients := make([]*client, conns)
	for i := range clients {
		clients[i] = startTx(t, e)
		clients[i].conn.SetDeadline(time.Now().Add(3 * time.Minute))
		clients[i].must(354, "DATA")
		wg.Add(1)
		go func(c *client) {
			defer wg.Done()
			c.conn.Write(payload) // no end of data
		}(clients[i])
	}
	wg.Wait()
	// Every session has read (nearly) all of its message: what is past
	// the first MiB is in its spool file.
	waitSpool(t, e, "all data read", func(n int, total int64) bool {
		return n == conns && total >= conns*(int64(size)-spoolMem-(1<<20))
	})
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("heap in use grew by %d KiB for %d sessions holding %d MiB each", grown>>10, conns, size>>20)
	if limit := int64(conns) * 3 * spoolMem; grown > limit {
		t.Fatalf("heap in use grew by %d MiB, want at most %d MiB", grown>>20, limit>>20)
	}
	for _, c := range clients {
		c.conn.Close()
	}
	noSpoolLeft(t, e)
}

// TestCleanSpoolDir: start-up creates the spool directory and removes
// the spool files a crashed run left, and nothing else.
func TestCleanSpoolDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tmp")
	if err := cleanSpoolDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{spoolPrefix + "123", "other"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := cleanSpoolDir(dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "other" {
		t.Fatalf("left: %v", entries)
	}
}

// TestLineCheckSplit: a CR LF pair split between two reads is a line end,
// and a bare CR or LF is found wherever the reads split the data.
func TestLineCheckSplit(t *testing.T) {
	for _, tc := range []struct {
		data string
		ok   bool
	}{
		{"ab\r\ncd\r\n", true},
		{"ab\rcd\r\n", false},
		{"ab\ncd\r\n", false},
		{"ab\r\r\n", false},
		{"ab\r\n\r", false},
		{"ab\x00\r\n", false},
	} {
		for cut := 0; cut <= len(tc.data); cut++ {
			var l lineCheck
			err := l.scan([]byte(tc.data[:cut]))
			if err == nil {
				err = l.scan([]byte(tc.data[cut:]))
			}
			if err == nil {
				err = l.end()
			}
			if (err == nil) != tc.ok {
				t.Errorf("%q cut at %d: err = %v", tc.data, cut, err)
			}
		}
	}
}
