package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"mailsuite/internal/testutil"
)

// TestSinkWritesEachMessage: a message to two remote recipients arrives as
// one file holding the envelope and the body, and the log says where.
func TestSinkWritesEachMessage(t *testing.T) {
	dir := t.TempDir()
	var log testutil.SyncBuffer
	ln, err := listenLoopback("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(dir, &log)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})

	body := "Subject: hello\r\n\r\nthe queue delivered this\r\n"
	for i := 0; i < 2; i++ {
		c, err := smtp.Dial(ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		err = c.SendMail("demo@example.test", []string{"someone@remote.test", "other@elsewhere.test"}, strings.NewReader(body))
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
	}

	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(files) != 2 {
		t.Fatalf("sink folder holds %v (%v), want 2 messages", files, err)
	}
	got, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	want := "Return-Path: <demo@example.test>\r\nDelivered-To: someone@remote.test\r\nDelivered-To: other@elsewhere.test\r\n" + body
	if string(got) != want {
		t.Errorf("message file =\n%q\nwant\n%q", got, want)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "from=<demo@example.test> to=someone@remote.test,other@elsewhere.test") ||
		!strings.Contains(log.String(), "file="+files[0]) {
		t.Errorf("log, want one line per message naming its file:\n%s", log.String())
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// TestSinkLoopbackOnly: the sink accepts mail from anyone, so it refuses
// to listen anywhere but loopback.
func TestSinkLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:25", "localhost:0"} {
		if ln, err := listenLoopback(addr); err == nil {
			ln.Close()
			t.Errorf("listenLoopback(%q) succeeded", addr)
		}
	}
}
