package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/shared/daemon"
	"mailsuite/store"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// pop3dBinary builds ./pop3d once for the tests that run it.
func pop3dBinary(t *testing.T) string {
	t.Helper()
	return testutil.BuildBinary(t, "mailsuite/pop3d")
}

// daemonEnv is a data directory with a config, a store with one user,
// and the ports the daemon listens on.
type daemonEnv struct {
	t         *testing.T
	dir, cfg  string
	addr, tls string
	st        *store.Store
	inbox     int64
	userID    int64
}

func newDaemonEnv(t *testing.T) *daemonEnv {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.Mkdir(data, 0o700)
	testutil.SelfSigned(t, dir)
	st, err := store.Open(filepath.Join(data, "mail.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	st.AddDomain(ctx, "example.com")
	uid, err := st.AddUser(ctx, testUser, testHash(), true)
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := st.MailboxByName(ctx, uid, "INBOX")
	d := &daemonEnv{t: t, dir: dir, cfg: filepath.Join(dir, "mailsuite.toml"), st: st, inbox: inbox.ID, userID: uid}
	d.writeConfig("")
	return d
}

// writeConfig writes the configuration with fresh ports plus extra text.
func (d *daemonEnv) writeConfig(extra string) {
	d.addr, d.tls = testutil.FreePort(d.t), testutil.FreePort(d.t)
	cfg := fmt.Sprintf(`hostname = "pop3.test"
data_dir = "data"
[tls]
cert = "cert.pem"
key = "key.pem"
[auth]
allow_plaintext = true
[pop3d]
listen = [%q]
tls_listen = [%q]
%s`, d.addr, d.tls, extra)
	if err := os.WriteFile(d.cfg, []byte(cfg), 0o600); err != nil {
		d.t.Fatal(err)
	}
}

// start runs pop3d and waits until it greets.
func (d *daemonEnv) start() *exec.Cmd {
	d.t.Helper()
	cmd := exec.Command(pop3dBinary(d.t), "-config", d.cfg)
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 200; i++ {
		c, err := net.Dial("tcp", d.addr)
		if err == nil {
			l, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(l, "+OK") {
				return cmd
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	d.t.Fatalf("pop3d did not start; log:\n%s", logs.String())
	return nil
}

func (d *daemonEnv) login() *testconn {
	d.t.Helper()
	e := &testEnv{t: d.t, addr: d.addr}
	return e.login()
}

func (d *daemonEnv) deliver(body string) {
	d.t.Helper()
	if _, err := d.st.Append(context.Background(), d.inbox, nil, time.Now(), []byte(body)); err != nil {
		d.t.Fatal(err)
	}
}

func TestBinaryKill9BetweenDeleAndQuit(t *testing.T) {
	d := newDaemonEnv(t)
	d.deliver(msg("a", "x\r\n"))
	d.deliver(msg("b", "y\r\n"))
	cmd := d.start()
	c := d.login()
	c.cmd("DELE 1", "+OK")
	c.cmd("DELE 2", "+OK")
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	c.closed()

	// A new process logs in at once: the dead one's lock is gone.
	d.start()
	c = d.login()
	c.cmd("STAT", "+OK 2 ")
	c.cmd("DELE 1", "+OK")
	c.cmd("QUIT", "+OK")
	c.closed()
	c = d.login()
	c.cmd("STAT", "+OK 1 ")
}

func TestBinaryCrossProcessDelivery(t *testing.T) {
	d := newDaemonEnv(t)
	d.start()
	c := d.login()
	c.cmd("STAT", "+OK 0 0")
	c.cmd("QUIT", "+OK")
	grants, err := d.st.LiveGrants(context.Background(), "127.0.0.1")
	if err != nil || len(grants) != 1 || grants[0].User.ID != d.userID {
		t.Fatalf("grant from pop3d process: %v %v", grants, err)
	}
	// This test process is "another process" delivering into the store.
	d.deliver(msg("cross", "from another process\r\n"))
	c = d.login()
	c.cmd("STAT", "+OK 1 ")
	c.cmd("RETR 1", "+OK")
	if got := c.multi(); got[len(got)-1] != "from another process" {
		t.Fatalf("RETR = %q", got)
	}
	// And pop3d's deletion is seen by this process.
	c.cmd("DELE 1", "+OK")
	c.cmd("QUIT", "+OK")
	c.closed()
	msgs, _ := d.st.Messages(context.Background(), d.inbox)
	if len(msgs) != 0 {
		t.Fatalf("%d messages left", len(msgs))
	}
}

func TestBinaryGracefulShutdown(t *testing.T) {
	d := newDaemonEnv(t)
	cmd := d.start()
	c := d.login()
	cmd.Process.Signal(syscall.SIGTERM)
	c.expect("-ERR [SYS/TEMP] server shutting down")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

func TestBinaryStartupErrors(t *testing.T) {
	d := newDaemonEnv(t)
	run := func(name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, pop3dBinary(t), "-config", d.cfg).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != daemon.ExitConfig {
			t.Errorf("%s: err %v, want exit %d; output:\n%s", name, err, daemon.ExitConfig, out)
		}
		if n := strings.Count(strings.TrimSpace(string(out)), "\n"); n > 1 {
			t.Errorf("%s: want one log line, got:\n%s", name, out)
		}
	}
	d.writeConfig("bogus_key = 1\n")
	run("unknown key")
	os.WriteFile(d.cfg, []byte("hostname = \"x\"\ndata_dir = \"data\"\n[tls]\ncert = \"missing.pem\"\nkey = \"key.pem\"\n"), 0o600)
	run("missing cert")
	d.writeConfig("")
	os.WriteFile(d.cfg, []byte(strings.Replace(mustRead(t, d.cfg), `data_dir = "data"`, `data_dir = "nope"`, 1)), 0o600)
	run("missing data dir")
	d.writeConfig("")
	ln, err := net.Listen("tcp", d.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	run("port in use")
	cmd := exec.Command(pop3dBinary(t), "-config", filepath.Join(d.dir, "absent.toml"))
	if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != daemon.ExitConfig {
		t.Errorf("absent config: %v", err)
	}
}

func mustRead(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBinaryConnLimitFromConfig: the real pop3d takes its per-address
// limit from the config file.
func TestBinaryConnLimitFromConfig(t *testing.T) {
	d := newDaemonEnv(t)
	d.writeConfig("max_connections_per_ip = 2\n")
	d.start()
	e := &testEnv{t: t, addr: d.addr}
	for range 2 {
		e.dialFrom("127.0.0.3").expect("+OK ")
	}
	c := e.dialFrom("127.0.0.3")
	c.expect("-ERR [SYS/TEMP] too many connections")
	c.closed()
	e.dialFrom("127.0.0.4").expect("+OK ")
}
