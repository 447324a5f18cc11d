package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startFailing runs a daemon that must refuse to start and returns its exit
// code and output.
func startFailing(t *testing.T, s *suite, name string) (int, string) {
	t.Helper()
	bin := binary(t, name) // built before the clock starts: a cold build is slow
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-config", s.conf)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s kept running with a broken setup:\n%s", name, out)
	}
	if err == nil {
		return 0, string(out)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestBadStart: a broken config, a missing certificate, a port in use or a
// missing data dir stops each daemon with exit code 2 (which the units do
// not restart) and one clear log line.
func TestBadStart(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, s *suite, daemon string)
		want  string // the error line must contain this
	}{
		{"unknown key", func(t *testing.T, s *suite, _ string) {
			s.extra = "bogus_key = 1\n" // lands in [imapd], the last table
			s.writeConfig()
		}, "imapd.bogus_key"},
		{"bad value", func(t *testing.T, s *suite, _ string) {
			s.extra = "\n[relay]\nwindow = \"soon\"\n"
			s.writeConfig()
		}, "window"},
		{"missing certificate", func(t *testing.T, s *suite, _ string) {
			os.Remove(s.cert)
		}, "cert.pem"},
		{"port in use", func(t *testing.T, s *suite, daemon string) {
			ln, err := net.Listen("tcp", addr(s.daemonPorts(daemon)[0]))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
		}, "address already in use"},
		{"missing data dir", func(t *testing.T, s *suite, _ string) {
			os.RemoveAll(filepath.Join(s.dir, "data"))
		}, "data"},
	}
	for _, d := range []string{"smtpd", "pop3d", "imapd"} {
		for _, c := range cases {
			t.Run(d+"/"+c.name, func(t *testing.T) {
				s := newSuite(t)
				c.setup(t, s, d)
				code, out := startFailing(t, s, d)
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if code != 2 {
					t.Errorf("exit code %d, want 2; output:\n%s", code, out)
				}
				if len(lines) != 1 || !strings.Contains(out, c.want) {
					t.Errorf("want one line naming %q, got %d lines:\n%s", c.want, len(lines), out)
				}
			})
		}
	}
}

// TestQueueSurvivesRestart: relayed mail the remote MX does not take yet
// stays queued across a SIGTERM and a restart of smtpd, and is delivered
// once the MX answers.
func TestQueueSurvivesRestart(t *testing.T) {
	mx := newFakeMX(t)
	mx.setDown(true)
	s := newSuite(t)
	s.route("remote.test", mx.addr())
	s.addUser("erin@example.test", "erin-secret")
	s.start("smtpd")

	out, code := python(t, "smtp_send.py", sendEnv(s.ports.Submission, "127.0.0.1",
		"erin@example.test", "frank@remote.test", "queued across restart",
		"AUTH_USER=erin@example.test", "AUTH_PASS=erin-secret", "STARTTLS=1")...)
	if code != 0 {
		t.Fatalf("submission: exit %d: %s", code, out)
	}
	if !eventually(15*time.Second, func() bool {
		out, _ := s.tryMailctl("", "queue", "list")
		return strings.Contains(out, "frank@remote.test")
	}) {
		out, _ := s.tryMailctl("", "queue", "list")
		t.Fatalf("message not in mailctl queue list:\n%s\nsmtpd log:\n%s", out, s.logOf("smtpd"))
	}
	if err := s.stop("smtpd"); err != nil {
		t.Fatalf("smtpd after SIGTERM: %v", err)
	}
	if n := len(mx.received()); n != 0 {
		t.Fatalf("the MX was down but received %d messages", n)
	}

	mx.setDown(false)
	s.start("smtpd")
	if _, ok := mx.waitFor(30*time.Second, "Subject: queued across restart"); !ok {
		out, _ := s.tryMailctl("", "queue", "list")
		t.Fatalf("queued message not delivered after restart; queue:\n%s\nsmtpd log:\n%s", out, s.logOf("smtpd"))
	}
	if !eventually(10*time.Second, func() bool {
		out, _ := s.tryMailctl("", "queue", "list")
		return !strings.Contains(out, "frank@remote.test")
	}) {
		t.Error("delivered message still listed by mailctl queue list")
	}
}

// TestSIGTERMInFlight: a transaction in the middle of DATA when smtpd gets
// SIGTERM is either finished (250, and then the message is in the mailbox)
// or refused with 421; never lost after a 250.
func TestSIGTERMInFlight(t *testing.T) {
	s := newSuite(t)
	s.addUser("gina@example.test", "gina-secret")
	s.start("smtpd", "pop3d")

	c, err := net.DialTimeout("tcp", addr(s.ports.SMTP), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReader(c)
	expect := func(prefix string) string {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %s: %v", prefix, err)
			}
			if len(line) >= 4 && line[3] == '-' {
				continue
			}
			if !strings.HasPrefix(line, prefix) {
				t.Fatalf("got %q, want %s", line, prefix)
			}
			return line
		}
	}
	send := func(s string) { fmt.Fprint(c, s) }
	expect("220")
	send("EHLO client.test\r\n")
	expect("250")
	send("MAIL FROM:<hank@remote.test>\r\n")
	expect("250")
	send("RCPT TO:<gina@example.test>\r\n")
	expect("250")
	send("DATA\r\n")
	expect("354")
	send("Subject: in flight\r\n\r\nfirst half\r\n")

	d := s.daemons["smtpd"]
	d.Cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond) // let the shutdown begin mid-DATA
	send("second half\r\n.\r\n")
	line, err := r.ReadString('\n')
	if err != nil {
		t.Logf("connection closed after SIGTERM without a reply (%v): must not be delivered", err)
	}
	select {
	case <-d.Done():
	case <-time.After(40 * time.Second):
		t.Fatal("smtpd did not exit after SIGTERM")
	}
	delete(s.daemons, "smtpd")
	if err := d.Wait(); err != nil {
		t.Errorf("smtpd exit after SIGTERM: %v\n%s", err, d.Log)
	}

	out, code := python(t, "pop3.py", popEnv(s.ports.POP3, "127.0.0.1", "gina@example.test", "gina-secret", "stat")...)
	switch {
	case strings.HasPrefix(line, "250"):
		if code != 0 || !strings.Contains(out, "stat 1") {
			t.Errorf("250 after DATA but the message is not in the INBOX: %s", out)
		}
	case strings.HasPrefix(line, "421"), line == "":
		if code != 0 || !strings.Contains(out, "stat 0") {
			t.Errorf("reply %q but a message was delivered: %s", line, out)
		}
	default:
		t.Errorf("reply to end of DATA during shutdown: %q, want 250 or 421", line)
	}
}

// TestUnwritableStore: a store the daemon's user cannot write (mail.db
// created by root with mailctl, the daemons running as mailsuite) stops
// each daemon at start with exit code 2 and one line naming the file,
// instead of a daemon that reports ready and then fails every login. The
// daemons run as nobody here, so the test needs root.
func TestUnwritableStore(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the daemons as another user")
	}
	for _, d := range []string{"smtpd", "pop3d", "imapd"} {
		t.Run(d, func(t *testing.T) {
			s := newSuite(t)
			s.addUser("ivy@example.test", "ivy-secret-1") // creates mail.db as root
			bin := filepath.Join(s.dir, d)
			data, err := os.ReadFile(binary(t, d))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(bin, data, 0o755); err != nil {
				t.Fatal(err)
			}
			// Everything readable by nobody, nothing writable.
			filepath.Walk(s.dir, func(p string, fi os.FileInfo, err error) error {
				if err == nil {
					os.Chmod(p, fi.Mode().Perm()|0o555)
				}
				return err
			})
			for p := filepath.Dir(s.dir); p != "/"; p = filepath.Dir(p) {
				if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
					os.Chmod(p, fi.Mode().Perm()|0o111)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "-config", s.conf)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			out, _ := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("%s kept running on a read-only store:\n%s", d, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if code := cmd.ProcessState.ExitCode(); code != 2 || len(lines) != 1 || !strings.Contains(string(out), "not writable") {
				t.Errorf("exit %d, want 2 and one line saying the store is not writable:\n%s", code, out)
			}
		})
	}
}
