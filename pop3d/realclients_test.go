package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"mailsuite/internal/testutil"
)

// countFiles counts the messages a client delivered into a Maildir.
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		n += len(ents)
	}
	return n
}

func mkMaildir(t *testing.T, dir string) {
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMpop fetches with mpop in keep+UIDL mode, plain and over STLS: a
// second run gets nothing new, a new message is fetched alone.
func TestMpop(t *testing.T) {
	mpop := testutil.NeedClient(t, "mpop")
	e := newEnv(t, withPlaintext)
	e.deliver(msg("one", "hello\r\n"))
	e.deliver(msg("two", ".dot line\r\n"))
	dir := t.TempDir()
	md := filepath.Join(dir, "maildir")
	mkMaildir(t, md)
	host, port := hostPort(t, e.addr)
	_, sport := hostPort(t, e.tlsAddr)
	rc := fmt.Sprintf(`defaults
timeout 20
keep on
uidls_file %s/%%U.uidls
delivery maildir %s
host %s
user %s
password %s

account plain
port %s
tls off
auth user

account stls
port %s
tls on
tls_starttls on
tls_trust_file %s
auth plain

account pop3s
port %s
tls on
tls_starttls off
tls_trust_file %s
auth plain
`, dir, md, host, testUser, testPass, port, port, filepath.Join(e.dir, "cert.pem"), sport, filepath.Join(e.dir, "cert.pem"))
	rcPath := filepath.Join(dir, "mpoprc")
	os.WriteFile(rcPath, []byte(rc), 0o600)

	mpopRun := func(account string) string {
		t.Helper()
		out, err := runClient(t, mpop, "-C", rcPath, account)
		if err != nil {
			t.Fatalf("mpop %s: %v\n%s", account, err, out)
		}
		return out
	}
	mpopRun("plain")
	if n := countFiles(t, md); n != 2 {
		t.Fatalf("mpop fetched %d messages, want 2", n)
	}
	if out := mpopRun("plain"); !strings.Contains(out, "new: no messages") {
		t.Fatalf("second run fetched again:\n%s", out)
	}
	e.deliver(msg("three", "x\r\n"))
	mpopRun("plain")
	if n := countFiles(t, md); n != 3 {
		t.Fatalf("%d messages after third run, want 3", n)
	}
	// The UIDL file is per user and host, so the STLS and POP3S accounts
	// see nothing new either: same ids over every transport.
	if out := mpopRun("stls"); !strings.Contains(out, "new: no messages") {
		t.Fatalf("stls run:\n%s", out)
	}
	if out := mpopRun("pop3s"); !strings.Contains(out, "new: no messages") {
		t.Fatalf("pop3s run:\n%s", out)
	}
	if e.count() != 3 {
		t.Fatalf("keep mode deleted messages: %d left", e.count())
	}
}

// TestFetchmail fetches with fetchmail in keep+UIDL mode: the second run
// finds nothing new (exit 1), plain and over STLS with a verified
// certificate.
func TestFetchmail(t *testing.T) {
	fm := testutil.NeedClient(t, "fetchmail")
	e := newEnv(t, withPlaintext)
	e.deliver(msg("one", "hello\r\n"))
	e.deliver(msg("two", "world\r\n"))
	dir := t.TempDir()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	host, port := hostPort(t, e.addr)
	mbox := filepath.Join(dir, "mbox")
	// One rc file per poll: fetchmail keys its UID list by user@host, so
	// two polls of one account in one file would share (and lose) it.
	polls := map[string]string{
		"plain": "sslproto ''",
		"stls":  fmt.Sprintf("sslproto 'tls1.2+' sslcertck sslcertfile %s sslcommonname localhost", filepath.Join(e.dir, "cert.pem")),
	}
	fetch := func(poll string, wantExit int) {
		t.Helper()
		rc := fmt.Sprintf(`set no syslog
poll %s via %s service %s protocol pop3 uidl timeout 20
  user %q password %q is %s here
  keep
  %s
  mda "/usr/bin/tee -a %s.%s >/dev/null"
`, poll, host, port, testUser, testPass, me.Username, polls[poll], mbox, poll)
		rcPath := filepath.Join(dir, "fetchmailrc."+poll)
		os.WriteFile(rcPath, []byte(rc), 0o600)
		out, err := runClient(t, fm, "-s", "-f", rcPath, "-i", rcPath+".ids", "--nodetach", poll)
		code := 0
		if err != nil {
			code = -1
			if ee, ok := err.(interface{ ExitCode() int }); ok {
				code = ee.ExitCode()
			}
		}
		if code != wantExit {
			t.Fatalf("fetchmail %s: exit %d, want %d\n%s", poll, code, wantExit, out)
		}
	}
	fetch("plain", 0)
	if got := strings.Count(mustRead(t, mbox+".plain"), "Subject: "); got != 2 {
		t.Fatalf("fetchmail delivered %d messages, want 2", got)
	}
	fetch("plain", 1) // 1 = no new mail
	fetch("stls", 0)
	fetch("stls", 1)
	if e.count() != 2 {
		t.Fatalf("keep mode deleted messages: %d left", e.count())
	}
}

// TestGetmail fetches with getmail6 (read_all = false, delete = false):
// the second run retrieves nothing.
func TestGetmail(t *testing.T) {
	gm := testutil.NeedClient(t, "getmail")
	e := newEnv(t, withPlaintext)
	e.deliver(msg("one", "hello\r\n"))
	e.deliver(msg("two", "world\r\n"))
	dir := t.TempDir()
	// getmail refuses to deliver as root; it then delivers as nobody, who
	// must be able to reach the Maildir.
	userLine := ""
	if os.Geteuid() == 0 {
		userLine = "user = nobody\n"
		os.Chmod(filepath.Dir(dir), 0o755)
		os.Chmod(dir, 0o777)
	}
	md := filepath.Join(dir, "maildir")
	mkMaildir(t, md)
	if os.Geteuid() == 0 {
		for _, sub := range []string{"", "new", "cur", "tmp"} {
			os.Chmod(filepath.Join(md, sub), 0o777)
		}
	}
	host, port := hostPort(t, e.addr)
	rc := fmt.Sprintf(`[retriever]
type = SimplePOP3Retriever
server = %s
port = %s
username = %s
password = %s

[destination]
type = Maildir
path = %s/
%s
[options]
read_all = false
delete = false
verbose = 1
`, host, port, testUser, testPass, md, userLine)
	rcPath := filepath.Join(dir, "getmailrc")
	os.WriteFile(rcPath, []byte(rc), 0o600)
	gdir := filepath.Join(dir, "getmail")
	os.Mkdir(gdir, 0o700)
	run := func() string {
		t.Helper()
		out, err := runClient(t, gm, "--getmaildir", gdir, "--rcfile", rcPath)
		if err != nil {
			t.Fatalf("getmail: %v\n%s", err, out)
		}
		return out
	}
	if out := run(); !strings.Contains(out, "2 messages") {
		t.Fatalf("first run:\n%s", out)
	}
	if n := countFiles(t, md); n != 2 {
		t.Fatalf("getmail delivered %d messages, want 2", n)
	}
	if out := run(); !strings.Contains(out, "0 messages (0 bytes) retrieved") {
		t.Fatalf("second run retrieved again:\n%s", out)
	}
	if e.count() != 2 {
		t.Fatalf("delete = false deleted messages: %d left", e.count())
	}
}
