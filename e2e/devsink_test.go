package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailsuite/internal/testutil"
)

// TestDevSinkReceivesQueuedMail: the catch-all sink of `make run`
// (deploy/dev/sink) is a next hop smtpd's queue delivers to: a message a
// user relays lands in the sink's folder as one file, with a log line.
func TestDevSinkReceivesQueuedMail(t *testing.T) {
	sinkBin := binary(t, "deploy/dev/sink")
	dir := t.TempDir()
	sinkAddr := testutil.FreePort(t)
	var log testutil.SyncBuffer
	sink := exec.Command(sinkBin, "-addr", sinkAddr, "-dir", dir)
	sink.Stdout, sink.Stderr = &log, &log
	if err := sink.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sink.Process.Kill()
		sink.Wait()
	})

	s := newSuite(t)
	s.route("remote.test", sinkAddr)
	s.addUser("dev@example.test", "dev-secret")
	s.start("smtpd")
	out, code := python(t, "smtp_send.py", sendEnv(s.ports.Submission, "127.0.0.1",
		"dev@example.test", "someone@remote.test", "to the sink",
		"AUTH_USER=dev@example.test", "AUTH_PASS=dev-secret")...)
	if code != 0 {
		t.Fatalf("relay through smtpd: exit %d: %s", code, out)
	}
	var files []string
	if !eventually(30*time.Second, func() bool {
		files, _ = filepath.Glob(filepath.Join(dir, "*.eml"))
		return len(files) > 0
	}) {
		t.Fatalf("nothing reached the sink\nsink log:\n%s\nsmtpd log:\n%s", log.String(), s.logOf("smtpd"))
	}
	msg, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(msg), "Delivered-To: someone@remote.test\r\n") || !strings.Contains(string(msg), "Subject: to the sink") {
		t.Errorf("sink file:\n%s", msg)
	}
	if !strings.Contains(log.String(), "file="+files[0]) {
		t.Errorf("sink log does not name %s:\n%s", files[0], log.String())
	}
}

// TestDevRunRoutesToSink: deploy/dev/run.sh starts the sink on the address
// its development config sends all remote mail to (smtpd.queue.smarthost),
// and builds it from deploy/dev/sink.
func TestDevRunRoutesToSink(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moduleRoot, "deploy", "dev", "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	script := string(b)
	m := regexp.MustCompile(`(?m)^SINK_ADDR=(\S+)$`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal("run.sh sets no SINK_ADDR")
	}
	for _, want := range []string{
		"\n[smtpd.queue]\nsmarthost = \"" + m[1] + "\"\n",
		"\"$BIN/sink\" -addr \"$SINK_ADDR\" -dir var/sink",
		"./deploy/dev/sink",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("deploy/dev/run.sh lacks %q", want)
		}
	}
}
