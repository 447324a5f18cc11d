package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/shared/daemon"
	"mailsuite/store"
)

// These tests run the built binary, as operators and the hidden tests do.

func TestMain(m *testing.M) { testutil.Main(m) }

// buildBinary builds package pkg (relative to the module root) once per
// test binary run.
func buildBinary(t *testing.T, pkg string) string {
	t.Helper()
	return testutil.BuildBinary(t, "mailsuite/"+pkg)
}

// binEnv is a data directory, certificate, seeded store and config file
// for the binaries.
type binEnv struct {
	dir, conf     string
	mx, sub, subs string
	pop3, pop3s   string
	extra         string // appended to the config
	users         map[string]int64
}

func newBinEnv(t *testing.T, extra string) *binEnv {
	dir := t.TempDir()
	b := &binEnv{dir: dir, conf: filepath.Join(dir, "mailsuite.toml"), extra: extra, users: map[string]int64{}}
	os.Mkdir(filepath.Join(dir, "data"), 0o700)
	testutil.SelfSigned(t, dir)
	st, err := store.Open(filepath.Join(dir, "data", "mail.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st.AddDomain(ctx, "example.com")
	for _, u := range []string{alice, bob} {
		id, err := st.AddUser(ctx, u, testHash(), u != bob)
		if err != nil {
			t.Fatal(err)
		}
		b.users[u] = id
	}
	st.Close()
	b.mx, b.sub, b.subs, b.pop3, b.pop3s = testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t)
	b.writeConf(t)
	return b
}

func (b *binEnv) writeConf(t *testing.T) {
	conf := fmt.Sprintf(`hostname = "mx.example.com"
data_dir = "data"
[tls]
cert = "cert.pem"
key = "key.pem"
[smtpd]
listen = [%q]
submission = [%q]
submissions = [%q]
[pop3d]
listen = [%q]
tls_listen = [%q]
[imapd]
listen = []
tls_listen = []
%s`, b.mx, b.sub, b.subs, b.pop3, b.pop3s, b.extra)
	if err := os.WriteFile(b.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
}

// start runs the daemon pkg ("smtpd", "pop3d") on the config and waits
// until it is ready; it is killed when the test ends.
func (b *binEnv) start(t *testing.T, pkg string) *testutil.Daemon {
	t.Helper()
	buildBinary(t, pkg) // skipped in -short
	return testutil.StartDaemon(t, "mailsuite/"+pkg, b.conf)
}

// TestCrashDurability: smtpd is SIGKILLed while clients stream messages.
// Every message that got its 250 is in the store afterwards, exactly once
// and whole; nothing else (no partial message) is there.
func TestCrashDurability(t *testing.T) {
	b := newBinEnv(t, "")
	d := b.start(t, "smtpd")

	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("w%d-m%d", w, i)
				if !sendOne(b.mx, id) {
					return // the server is gone
				}
				mu.Lock()
				acked[id] = true
				mu.Unlock()
			}
		}()
	}
	for {
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 60 {
			break
		}
	}
	d.Kill()
	close(stop)
	wg.Wait()

	st, err := store.Open(filepath.Join(b.dir, "data", "mail.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	mb, err := st.MailboxByName(ctx, b.users[alice], "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := st.Messages(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		body, err := st.MessageBody(ctx, mb.ID, m.UID)
		if err != nil {
			t.Fatal(err)
		}
		id, ok := crashID(string(body))
		if !ok {
			t.Errorf("partial or foreign message stored:\n%q", body)
			continue
		}
		seen[id]++
	}
	for id := range acked {
		if seen[id] != 1 {
			t.Errorf("message %s got 250 but is stored %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s stored %d times", id, n)
		}
	}
	t.Logf("%d acknowledged, %d stored (a message may be stored without its 250 reaching the client)", len(acked), len(msgs))
	if t.Failed() {
		t.Log(d.Log.String())
	}
}

// crashBody is a message whose completeness can be checked: the id in the
// subject and again on the last of many lines.
func crashBody(id string) string {
	return "Subject: crash " + id + "\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef\r\n", 100) + "END " + id + "\r\n"
}

func crashID(body string) (string, bool) {
	i := strings.Index(body, "Subject: crash ")
	if i < 0 {
		return "", false
	}
	rest := body[i+len("Subject: crash "):]
	id := rest[:strings.Index(rest, "\r\n")]
	return id, strings.HasSuffix(body, "\r\n"+strings.Repeat("0123456789abcdef0123456789abcdef\r\n", 100)+"END "+id+"\r\n")
}

// sendOne delivers one message to alice and reports whether it got 250.
func sendOne(addr, id string) bool {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := &client{conn: conn, tp: newText(conn)}
	steps := []struct {
		line string
		want int
	}{{"", 220}, {"EHLO crash.test", 250}, {"MAIL FROM:<x@far.test>", 250}, {"RCPT TO:<" + alice + ">", 250}, {"DATA", 354}}
	for _, s := range steps {
		if s.line != "" && c.tp.PrintfLine("%s", s.line) != nil {
			return false
		}
		code, _, err := c.tp.ReadResponse(s.want)
		if err != nil || code != s.want {
			return false
		}
	}
	if _, err := conn.Write([]byte(crashBody(id) + ".\r\n")); err != nil {
		return false
	}
	code, _, err := c.tp.ReadResponse(250)
	return err == nil && code == 250
}

// TestBinaryStartFailures: a broken config or environment is one clear
// log line and exit code 2.
func TestBinaryStartFailures(t *testing.T) {
	bin := buildBinary(t, "smtpd")
	b := newBinEnv(t, "")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct {
		name, conf, want string
	}{
		{"unknown key", `bogus = 1`, "bogus"},
		{"missing data dir", "data_dir = \"nope\"\n[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"", "nope"},
		{"missing cert", "data_dir = \"data\"\n[tls]\ncert = \"missing.pem\"\nkey = \"key.pem\"", "missing.pem"},
		{"port in use", fmt.Sprintf("data_dir = \"data\"\n[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n[smtpd]\nlisten = [%q]\nsubmission = []\nsubmissions = []", busy.Addr().String()), "address already in use"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conf := filepath.Join(b.dir, "bad.toml")
			os.WriteFile(conf, []byte(tc.conf), 0o600)
			out, err := exec.Command(bin, "-config", conf).CombinedOutput()
			var ee *exec.ExitError
			if !errorsAs(err, &ee) || ee.ExitCode() != daemon.ExitConfig {
				t.Fatalf("exit: %v, want code 2\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("log does not mention %q:\n%s", tc.want, out)
			}
		})
	}
}

// TestBinarySIGTERM: SIGTERM stops the daemon cleanly (exit 0).
func TestBinarySIGTERM(t *testing.T) {
	b := newBinEnv(t, "")
	d := b.start(t, "smtpd")
	if !sendOne(b.mx, "before-term") {
		t.Fatalf("message refused\n%s", d.Log)
	}
	if err := d.Stop(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, d.Log)
	}
}

// TestPOPBeforeSMTP: a real pop3d login from 127.0.0.2 opens relaying
// through a real smtpd for 127.0.0.2 only, until the window lapses.
func TestPOPBeforeSMTP(t *testing.T) {
	b := newBinEnv(t, "[auth]\nallow_plaintext = true\n[relay]\nwindow = \"2s\"\n")
	b.start(t, "smtpd")
	b.start(t, "pop3d")

	relay := func(ip string) int {
		c := dial(t, b.mx, ip, false)
		c.ehlo()
		c.must(250, "MAIL FROM:<%s>", alice)
		code, _ := c.cmd("RCPT TO:<friend@far.test>")
		c.cmd("QUIT")
		return code
	}
	if code := relay("127.0.0.2"); code != 554 {
		t.Fatalf("before POP3 login: %d, want 554", code)
	}
	popLogin(t, b.pop3, "127.0.0.2", alice, userPass)
	loggedIn := time.Now()
	if code := relay("127.0.0.2"); code != 250 {
		t.Fatalf("after POP3 login: %d, want 250", code)
	}
	if code := relay("127.0.0.3"); code != 554 {
		t.Fatalf("from another IP: %d, want 554", code)
	}
	time.Sleep(time.Until(loggedIn.Add(3 * time.Second)))
	if code := relay("127.0.0.2"); code != 554 {
		t.Fatalf("after the window: %d, want 554", code)
	}
}

// popLogin logs in to pop3d with USER/PASS from local address ip.
func popLogin(t *testing.T, addr, ip, user, pass string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := newText(conn)
	for _, line := range []string{"", "USER " + user, "PASS " + pass, "QUIT"} {
		if line != "" {
			tp.PrintfLine("%s", line)
		}
		reply, err := tp.ReadLine()
		if err != nil || !strings.HasPrefix(reply, "+OK") {
			t.Fatalf("POP3 %q: %q %v", line, reply, err)
		}
	}
}

// TestBinaryMXFloodSparesSubmission: the real smtpd takes its limits from
// the config file: one address filling its MX share is refused with 421,
// yet submission and other addresses are served.
func TestBinaryMXFloodSparesSubmission(t *testing.T) {
	b := newBinEnv(t, "")
	conf, err := os.ReadFile(b.conf)
	if err != nil {
		t.Fatal(err)
	}
	limited := strings.Replace(string(conf), "[smtpd]\n", "[smtpd]\nmax_connections_per_ip = 3\n", 1)
	if err := os.WriteFile(b.conf, []byte(limited), 0o600); err != nil {
		t.Fatal(err)
	}
	b.start(t, "smtpd")
	for range 3 {
		dial(t, b.mx, "127.0.0.3", false)
	}
	refused(t, b.mx, "127.0.0.3")
	dial(t, b.sub, "127.0.0.3", false).ehlo()
	dial(t, b.mx, "127.0.0.4", false).ehlo()
}

// TestBinaryLimitsShared: two real smtpd processes on one store count
// alice's messages together; the one that reaches the limit suspends her
// in both, and the suspension outlives a restart of both.
func TestBinaryLimitsShared(t *testing.T) {
	extra := "[auth]\nallow_plaintext = true\n[relay]\nmax_messages_per_hour = 2\n"
	a := newBinEnv(t, extra)
	b := *a // the same data directory, its own ports and config file
	b.conf = filepath.Join(a.dir, "second.toml")
	b.mx, b.sub, b.subs, b.pop3, b.pop3s = testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t)
	b.writeConf(t)
	procA := a.start(t, "smtpd")
	procB := b.start(t, "smtpd")

	login := func(addr string) *client {
		c := dial(t, addr, "", false)
		c.ehlo()
		if code, msg := c.authPlain("", alice, userPass); code != 235 {
			t.Fatalf("AUTH on %s: %d %s", addr, code, msg)
		}
		return c
	}
	ca, cb := login(a.sub), login(b.sub)
	wantAccepted(t, ca.send(alice, "one", "x@far.test"))
	wantAccepted(t, cb.send(alice, "two", "x@far.test"))
	got := ca.send(alice, "three", "x@far.test")
	wantRefused(t, got[0], "2 messages per hour")
	if code, msg := cb.cmd("MAIL FROM:<%s>", alice); code != 530 {
		t.Errorf("the other process's open session after the suspension: %d %s, want 530", code, msg)
	}

	for _, p := range []*testutil.Daemon{procA, procB} {
		if err := p.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}
	if n := strings.Count(procA.Log.String()+procB.Log.String(), "smtp suspended"); n != 1 {
		t.Errorf("%d suspension lines in both logs, want 1", n)
	}
	a.start(t, "smtpd")
	c := dial(t, a.sub, "", false)
	c.ehlo()
	if code, _ := c.authPlain("", alice, userPass); code != 535 {
		t.Errorf("AUTH after a restart: %d, want 535 (still suspended)", code)
	}
}
