// Package e2e drives the built binaries (smtpd, pop3d, imapd, mailctl) with
// real mail clients over loopback, as operators and their users will: the
// client matrix of `make test`. Each scenario starts its own daemons with a
// temporary configuration and store (testutil.StartDaemon); a scenario
// whose binaries do not build fails.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailsuite/deploy/dev"
	"mailsuite/internal/testutil"
)

// moduleRoot is the repository root (the e2e folder's parent), set up by
// TestMain.
var moduleRoot string

func TestMain(m *testing.M) {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	moduleRoot = filepath.Dir(wd)
	testutil.Main(m)
}

// binary returns the path of the named command built from the working
// tree, building it on first use. A daemon that is missing or does not
// build fails the test, with the compiler's output: every e2e test needs
// the suite's own binaries, so skipping would hide a broken tree.
func binary(t testing.TB, name string) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(moduleRoot, name)); err != nil {
		t.Fatalf("%s does not build: no %s/ folder in %s", name, name, moduleRoot)
	}
	bin, err := testutil.Build("mailsuite/" + name)
	if err != nil {
		t.Fatalf("%s does not build: %v", name, err)
	}
	return bin
}

// needTool skips the test when an external client is not installed; CI
// (.ci/run) installs them all.
func needTool(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s not installed", n)
		}
	}
}

// freePort returns a loopback port that was free a moment ago (see
// testutil.FreePort). The daemons bind addresses from their configuration,
// so the harness cannot hand them a listener.
func freePort(t testing.TB) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(testutil.FreePort(t))
	p, _ := strconv.Atoi(port)
	return p
}

// Ports of one suite, by config key.
type ports struct {
	SMTP, Submission, Submissions int
	POP3, POP3S                   int
	IMAP, IMAPS                   int
}

// suite is one set of daemons over one temporary store.
type suite struct {
	t       testing.TB
	ip      string // the loopback address the daemons listen on
	dir     string // config, store and certificate
	conf    string
	cert    string
	ports   ports
	routes  map[string]string // smtpd.queue.routes
	extra   string            // extra TOML appended to the config
	metrics map[string]int    // daemon: port of its /metrics (none: off)
	daemons map[string]*testutil.Daemon
}

// newSuite writes a configuration (plaintext allowed: the clients include
// USER/PASS ones) and a self-signed certificate; daemons start on demand.
func newSuite(t testing.TB) *suite {
	t.Helper()
	dir := t.TempDir()
	s := &suite{
		t:    t,
		ip:   "127.0.0.1",
		dir:  dir,
		conf: filepath.Join(dir, "mailsuite.toml"),
		cert: filepath.Join(dir, "tls", "cert.pem"),
		ports: ports{
			SMTP: freePort(t), Submission: freePort(t), Submissions: freePort(t),
			POP3: freePort(t), POP3S: freePort(t),
			IMAP: freePort(t), IMAPS: freePort(t),
		},
		routes:  map[string]string{},
		daemons: map[string]*testutil.Daemon{},
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := dev.GenerateSelfSigned(s.cert, filepath.Join(dir, "tls", "key.pem"), "localhost"); err != nil {
		t.Fatal(err)
	}
	s.writeConfig()
	return s
}

// route sends mail for domain to addr (a fake remote MX).
func (s *suite) route(domain, addr string) {
	s.routes[domain] = addr
	s.writeConfig()
}

func (s *suite) writeConfig() {
	var routes []string
	for d, a := range s.routes {
		routes = append(routes, fmt.Sprintf("%q = %q", d, a))
	}
	p := s.ports
	text := fmt.Sprintf(`hostname = "localhost"
data_dir = "data"

[tls]
cert = "tls/cert.pem"
key  = "tls/key.pem"

[auth]
allow_plaintext = true
min_password_length = 5  # the client tests' passwords are short

[smtpd]
listen      = ["%s"]
submission  = ["%s"]
submissions = ["%s"]
%s
[smtpd.queue]
retry  = ["1s"]
routes = { %s }

[pop3d]
listen     = ["%s"]
tls_listen = ["%s"]
%s
[imapd]
listen     = ["%s"]
tls_listen = ["%s"]
%s%s`, s.at(p.SMTP), s.at(p.Submission), s.at(p.Submissions), s.metricsKey("smtpd"), strings.Join(routes, ", "),
		s.at(p.POP3), s.at(p.POP3S), s.metricsKey("pop3d"), s.at(p.IMAP), s.at(p.IMAPS), s.metricsKey("imapd"), s.extra)
	if err := os.WriteFile(s.conf, []byte(text), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// metricsKey is the metrics key of daemon's section when s.metrics turns
// them on, else nothing.
func (s *suite) metricsKey(daemon string) string {
	if p := s.metrics[daemon]; p != 0 {
		return fmt.Sprintf("metrics = %q\n", addr(p))
	}
	return ""
}

// addr is a loopback "host:port".
func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// at is the suite's "host:port" for one of its ports.
func (s *suite) at(port int) string { return net.JoinHostPort(s.ip, strconv.Itoa(port)) }

// daemonPorts lists the ports a daemon listens on.
func (s *suite) daemonPorts(name string) []int {
	p := s.ports
	switch name {
	case "smtpd":
		return []int{p.SMTP, p.Submission, p.Submissions}
	case "pop3d":
		return []int{p.POP3, p.POP3S}
	case "imapd":
		return []int{p.IMAP, p.IMAPS}
	}
	return nil
}

// mailctl runs the built mailctl against the suite's config, with stdin
// (for --password-stdin), and fails the test on a non-zero exit.
func (s *suite) mailctl(stdin string, args ...string) string {
	s.t.Helper()
	out, err := s.tryMailctl(stdin, args...)
	if err != nil {
		s.t.Fatalf("mailctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

func (s *suite) tryMailctl(stdin string, args ...string) (string, error) {
	s.t.Helper()
	bin := binary(s.t, "mailctl")
	cmd := exec.Command(bin, append([]string{"-config", s.conf}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// addUser creates domain (if needed) and user with password.
func (s *suite) addUser(address, password string) {
	s.t.Helper()
	domain := address[strings.LastIndex(address, "@")+1:]
	if !strings.Contains(s.mailctl("", "domain", "list"), domain+"\t") {
		s.mailctl("", "domain", "add", domain)
	}
	s.mailctl(password+"\n", "user", "add", address, "--password-stdin")
}

// start launches the named daemons one after the other, each once it
// logged "ready"; at the end of the test they are stopped with SIGTERM
// and must exit cleanly.
func (s *suite) start(names ...string) {
	s.t.Helper()
	for _, n := range names {
		binary(s.t, n) // fails with the compiler's words
		s.daemons[n] = testutil.StartDaemon(s.t, "mailsuite/"+n, s.conf)
		s.t.Cleanup(func() { // before StartDaemon's kill
			if err := s.stop(n); err != nil {
				s.t.Errorf("stop %s: %v", n, err)
			}
		})
	}
}

// stop sends SIGTERM and waits for a clean exit; it returns the exit error.
func (s *suite) stop(name string) error {
	s.t.Helper()
	d := s.daemons[name]
	if d == nil {
		return nil
	}
	delete(s.daemons, name)
	err := d.Stop()
	if s.t.Failed() || testing.Verbose() {
		s.t.Logf("%s log:\n%s", name, d.Log)
	}
	return err
}

// logOf returns what the named daemon has logged so far.
func (s *suite) logOf(name string) string {
	if d := s.daemons[name]; d != nil {
		return d.Log.String()
	}
	return ""
}

// run executes an external client with a timeout and returns its combined
// output and exit code (-1 if it could not run or timed out).
func run(t testing.TB, dir string, stdin string, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err == nil {
		return string(out), 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return string(out), ee.ExitCode()
	}
	return string(out) + "\n" + err.Error(), -1
}

// python runs a script from testdata with env (KEY=VALUE) and returns its
// output and exit code.
func python(t testing.TB, script string, env ...string) (string, int) {
	t.Helper()
	needTool(t, "python3")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", filepath.Join("testdata", script))
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return string(out), 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return string(out), ee.ExitCode()
	}
	return string(out) + "\n" + err.Error(), -1
}

// eventually polls cond every 100ms for up to d.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return cond()
}

// TestBinaryFailsOnBuildError: a daemon folder that is missing or does
// not compile fails the test that needs it, with the compiler's words,
// rather than skipping it and letting the suite pass.
func TestBinaryFailsOnBuildError(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"nosuchdaemon", "no nosuchdaemon/ folder"},
		{"e2e/testdata/nobuild", "cannot use"},
	} {
		r := &outcome{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			binary(r, c.name)
		}()
		<-done
		if r.how != "fatal" || !strings.Contains(r.msg, c.want) {
			t.Errorf("binary(%q): %s %q, want fatal with %q", c.name, r.how, r.msg, c.want)
		}
	}
}

// outcome records how a test helper ended the test, without ending the
// real one: Fatalf and Skipf stop only the goroutine that called them.
type outcome struct {
	testing.TB
	how, msg string
}

func (o *outcome) Fatalf(format string, args ...any) {
	o.how, o.msg = "fatal", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (o *outcome) Skipf(format string, args ...any) {
	o.how, o.msg = "skip", fmt.Sprintf(format, args...)
	runtime.Goexit()
}
