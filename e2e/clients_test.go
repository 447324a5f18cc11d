package e2e

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// writeConf writes a client configuration with mode 0600 (msmtp, mpop and
// fetchmail refuse anything looser).
func writeConf(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// clientCase is one client invocation and the exit code it must give.
type clientCase struct {
	name  string
	want  int
	stdin string
	grep  string // output must contain this, if set
	argv  []string
}

func runCases(t *testing.T, dir string, cases []clientCase) {
	t.Helper()
	for _, c := range cases {
		out, code := run(t, dir, c.stdin, c.argv[0], c.argv[1:]...)
		switch {
		case code != c.want:
			t.Errorf("%s: exit %d, want %d:\n%s", c.name, code, c.want, lastLines(out, 8))
		case c.grep != "" && !strings.Contains(out, c.grep):
			t.Errorf("%s: output lacks %q:\n%s", c.name, c.grep, lastLines(out, 8))
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// seed delivers n messages to address through the MX port.
func seed(t *testing.T, s *suite, address string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		out, code := python(t, "smtp_send.py", sendEnv(s.ports.SMTP, "127.0.0.1",
			"seed@remote.test", address, fmt.Sprintf("seed %d", i))...)
		if code != 0 {
			t.Fatalf("seed %s: exit %d: %s", address, code, out)
		}
	}
}

// TestSwaks: SMTP AUTH PLAIN and LOGIN, STARTTLS, implicit TLS on the
// submissions port, a wrong password, and relay refused without auth.
func TestSwaks(t *testing.T) {
	needTool(t, "swaks")
	mx := newFakeMX(t)
	s := newSuite(t)
	s.route("remote.test", mx.addr())
	s.addUser("user2@example.test", "pass2")
	s.addUser("user3@example.test", "pass3")
	s.start("smtpd")

	sw := func(port int, extra ...string) []string {
		return append([]string{"swaks", "--server", addr(port), "--silent", "2",
			"--from", "user2@example.test"}, extra...)
	}
	auth := func(mech, pass string) []string {
		return []string{"--auth", mech, "--auth-user", "user2@example.test", "--auth-password", pass}
	}
	local := []string{"--to", "user3@example.test"}
	remote := []string{"--to", "someone@remote.test", "--header", "Subject: swaks relay"}
	cat := func(parts ...[]string) []string {
		var all []string
		for _, p := range parts {
			all = append(all, p...)
		}
		return all
	}
	runCases(t, "", []clientCase{
		{name: "auth-login-submission", want: 0, argv: cat(sw(s.ports.Submission), local, auth("LOGIN", "pass2"))},
		{name: "auth-plain-submission", want: 0, argv: cat(sw(s.ports.Submission), local, auth("PLAIN", "pass2"))},
		{name: "auth-plain-starttls", want: 0, argv: cat(sw(s.ports.Submission), local, auth("PLAIN", "pass2"), []string{"--tls"})},
		{name: "auth-login-starttls-mx", want: 0, argv: cat(sw(s.ports.SMTP), local, auth("LOGIN", "pass2"), []string{"--tls"})},
		{name: "auth-plain-465", want: 0, argv: cat(sw(s.ports.Submissions), local, auth("PLAIN", "pass2"), []string{"--tls-on-connect"})},
		{name: "bad-password", want: 28, argv: cat(sw(s.ports.Submission), local, auth("PLAIN", "wrong"))},
		{name: "unauth-relay-denied", want: 24, argv: cat(sw(s.ports.SMTP), remote)},
		{name: "submission-needs-auth", want: 23, argv: cat(sw(s.ports.Submission), local)},
		{name: "auth-relay-ok", want: 0, argv: cat(sw(s.ports.Submission), remote, auth("LOGIN", "pass2"), []string{"--tls"})},
	})
	if _, ok := mx.waitFor(30*time.Second, "Subject: swaks relay"); !ok {
		t.Errorf("authenticated relay never reached the remote MX\nsmtpd log:\n%s", s.logOf("smtpd"))
	}
}

// TestMsmtp: msmtp with AUTH PLAIN in the clear, STARTTLS + AUTH LOGIN,
// STARTTLS with the certificate verified, and implicit TLS.
func TestMsmtp(t *testing.T) {
	needTool(t, "msmtp")
	s := newSuite(t)
	s.addUser("user2@example.test", "pass2")
	s.addUser("user3@example.test", "pass3")
	s.start("smtpd", "pop3d")
	dir := t.TempDir()
	rc := writeConf(t, dir, "msmtprc", fmt.Sprintf(`defaults
logfile %[1]s/msmtp.log
timeout 20
account plain
host 127.0.0.1
port %[2]d
from user2@example.test
tls off
auth plain
user user2@example.test
password pass2

account starttls-login
host 127.0.0.1
port %[2]d
from user2@example.test
tls on
tls_starttls on
tls_certcheck off
auth login
user user2@example.test
password pass2

account starttls-verify : starttls-login
host localhost
tls_certcheck on
tls_trust_file %[3]s

account smtps : starttls-login
host localhost
port %[4]d
tls_starttls off
tls_certcheck on
tls_trust_file %[3]s
auth plain
`, dir, s.ports.Submission, s.cert, s.ports.Submissions))
	var cases []clientCase
	for _, a := range []string{"plain", "starttls-login", "starttls-verify", "smtps"} {
		cases = append(cases, clientCase{name: "msmtp-" + a, want: 0,
			stdin: "Subject: msmtp " + a + "\n\nhello\n",
			argv:  []string{"msmtp", "-C", rc, "-a", a, "user3@example.test"}})
	}
	runCases(t, dir, cases)
	out, code := python(t, "pop3.py", popEnv(s.ports.POP3, "127.0.0.1", "user3@example.test", "pass3", "stat")...)
	if code != 0 || !strings.Contains(out, "stat 4") {
		t.Errorf("user3 should hold the 4 msmtp messages: exit %d: %s", code, out)
	}
}

// TestMpop: mpop with USER/PASS, STLS + AUTH PLAIN and POP3S, keeping mail
// on the server and tracking it by UIDL (a second run finds nothing new).
func TestMpop(t *testing.T) {
	needTool(t, "mpop")
	s := newSuite(t)
	s.addUser("user3@example.test", "pass3")
	s.start("smtpd", "pop3d")
	seed(t, s, "user3@example.test", 3)
	dir := t.TempDir()
	for _, d := range []string{"new", "cur", "tmp"} {
		os.MkdirAll(filepath.Join(dir, "maildir", d), 0o700)
	}
	rc := writeConf(t, dir, "mpoprc", fmt.Sprintf(`defaults
timeout 20
keep on
uidls_file %[1]s/mpop-%%U-at-%%H.uidls
delivery maildir %[1]s/maildir
account plain
host 127.0.0.1
port %[2]d
tls off
auth user
user user3@example.test
password pass3

account stls : plain
tls on
tls_starttls on
tls_certcheck off
auth plain

account pop3s : plain
host localhost
port %[3]d
tls on
tls_starttls off
tls_trust_file %[4]s
auth plain
`, dir, s.ports.POP3, s.ports.POP3S, s.cert))
	runCases(t, dir, []clientCase{
		{name: "mpop-plain-first", want: 0, argv: []string{"mpop", "-q", "-C", rc, "plain"}},
		{name: "mpop-plain-uidl-keep", want: 0, grep: "new: no messages", argv: []string{"mpop", "-C", rc, "plain"}},
		{name: "mpop-stls", want: 0, argv: []string{"mpop", "-q", "-C", rc, "stls"}},
		{name: "mpop-pop3s", want: 0, argv: []string{"mpop", "-q", "-C", rc, "pop3s"}},
	})
	got, _ := os.ReadDir(filepath.Join(dir, "maildir", "new"))
	// plain and stls share one UIDL file (same user and host), pop3s has
	// its own (host localhost): 3 + 0 + 3.
	if len(got) != 6 {
		t.Errorf("mpop delivered %d messages, want 6", len(got))
	}
}

// TestFetchmail: fetchmail in UIDL keep mode, plain and with STLS and a
// verified certificate; a second run finds no new mail (exit 1).
func TestFetchmail(t *testing.T) {
	needTool(t, "fetchmail")
	s := newSuite(t)
	s.addUser("user4@example.test", "pass4")
	s.addUser("user5@example.test", "pass5") // fetchmail keys UIDLs by user and host
	s.start("smtpd", "pop3d")
	seed(t, s, "user4@example.test", 2)
	seed(t, s, "user5@example.test", 2)
	dir := t.TempDir()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	rc := writeConf(t, dir, "fetchmailrc", fmt.Sprintf(`set no syslog
set logfile %[1]s/fetchmail.log
poll 127.0.0.1 service %[2]d protocol pop3 uidl timeout 20
  user "user4@example.test" password "pass4" is %[3]s here
  keep
  sslproto ''
  mda "/usr/bin/tee -a %[1]s/plain.mbox >/dev/null"
poll stls via 127.0.0.1 service %[2]d protocol pop3 uidl timeout 20
  user "user5@example.test" password "pass5" is %[3]s here
  keep
  sslproto 'tls1.2+' sslcertck sslcertfile %[4]s sslcommonname localhost
  mda "/usr/bin/tee -a %[1]s/stls.mbox >/dev/null"
`, dir, s.ports.POP3, me.Username, s.cert))
	ids := filepath.Join(dir, "fetchmail.ids")
	fm := func(server string) []string {
		return []string{"fetchmail", "-s", "-f", rc, "-i", ids, "--nodetach", server}
	}
	env := os.Getenv("HOME")
	t.Setenv("HOME", dir) // fetchmail keeps a lock file in $HOME
	defer os.Setenv("HOME", env)
	runCases(t, dir, []clientCase{
		{name: "fetchmail-plain-first", want: 0, argv: fm("127.0.0.1")},
		{name: "fetchmail-plain-uidl-nonew", want: 1, argv: fm("127.0.0.1")},
		{name: "fetchmail-stls-first", want: 0, argv: fm("stls")},
		{name: "fetchmail-stls-uidl-nonew", want: 1, argv: fm("stls")},
	})
	for _, f := range []string{"plain.mbox", "stls.mbox"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if n := strings.Count(string(b), "Subject: seed "); n != 2 {
			t.Errorf("%s holds %d messages, want 2", f, n)
		}
	}
}

// TestGetmail: getmail6 in UIDL keep mode (read_all=false, delete=false).
func TestGetmail(t *testing.T) {
	needTool(t, "getmail")
	s := newSuite(t)
	s.addUser("user7@example.test", "pass7")
	s.start("smtpd", "pop3d")
	seed(t, s, "user7@example.test", 2)
	dir, err := os.MkdirTemp("", "e2e-getmail")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	md := filepath.Join(dir, "maildir")
	for _, d := range []string{"new", "cur", "tmp"} {
		os.MkdirAll(filepath.Join(md, d), 0o755)
	}
	asUser := ""
	if os.Geteuid() == 0 { // getmail refuses to deliver as root
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Skip("running as root without a nobody user")
		}
		uid, _ := strconv.Atoi(nobody.Uid)
		os.Chmod(dir, 0o755)
		for _, d := range []string{"", "new", "cur", "tmp"} {
			os.Chown(filepath.Join(md, d), uid, -1)
		}
		asUser = "user = nobody"
	}
	rc := writeConf(t, dir, "getmailrc", fmt.Sprintf(`[retriever]
type = SimplePOP3Retriever
server = 127.0.0.1
port = %d
username = user7@example.test
password = pass7

[destination]
type = Maildir
path = %s/
%s

[options]
read_all = false
delete = false
verbose = 1
`, s.ports.POP3, md, asUser))
	gm := []string{"getmail", "--getmaildir", dir, "--rcfile", rc}
	runCases(t, dir, []clientCase{
		{name: "getmail-first", want: 0, grep: "2 messages", argv: gm},
		{name: "getmail-keep-nonew", want: 0, grep: "0 messages (0 bytes) retrieved", argv: gm},
	})
}

// TestMbsync: mbsync over plain IMAP (LOGIN), STARTTLS and IMAPS with the
// certificate verified; a message created locally is APPENDed on the next
// run and then visible to POP3.
func TestMbsync(t *testing.T) {
	needTool(t, "mbsync")
	s := newSuite(t)
	s.addUser("user6@example.test", "pass6")
	s.start("smtpd", "imapd", "pop3d")
	seed(t, s, "user6@example.test", 2)
	dir := t.TempDir()
	var b strings.Builder
	for _, a := range []struct {
		name, host, ssl string
		port            int
	}{
		{"plain", "127.0.0.1", "None\nAuthMechs LOGIN", s.ports.IMAP},
		{"starttls", "localhost", "STARTTLS\nCertificateFile " + s.cert, s.ports.IMAP},
		{"imaps", "localhost", "IMAPS\nCertificateFile " + s.cert, s.ports.IMAPS},
	} {
		local := filepath.Join(dir, a.name)
		os.MkdirAll(local, 0o700)
		fmt.Fprintf(&b, `IMAPAccount %[1]s
Host %[2]s
Port %[3]d
User user6@example.test
Pass pass6
SSLType %[4]s

IMAPStore %[1]s-remote
Account %[1]s

MaildirStore %[1]s-local
Path %[5]s/
Inbox %[5]s/INBOX
SubFolders Verbatim

Channel %[1]s
Far :%[1]s-remote:
Near :%[1]s-local:
Patterns *
Create Both
Expunge None
SyncState *

`, a.name, a.host, a.port, a.ssl, local)
	}
	rc := writeConf(t, dir, "mbsyncrc", b.String())
	mb := func(ch string) []string { return []string{"mbsync", "-q", "-c", rc, ch} }
	runCases(t, dir, []clientCase{{name: "mbsync-plain", want: 0, argv: mb("plain")}})
	inbox := filepath.Join(dir, "plain", "INBOX")
	if got, _ := os.ReadDir(filepath.Join(inbox, "new")); len(got)+countDir(filepath.Join(inbox, "cur")) != 2 {
		t.Errorf("mbsync plain fetched %d+%d INBOX messages, want 2", len(got), countDir(filepath.Join(inbox, "cur")))
	}
	for _, box := range []string{"Sent", "Drafts", "Trash", "Junk"} {
		if _, err := os.Stat(filepath.Join(dir, "plain", box)); err != nil {
			t.Errorf("mbsync did not create the %s folder: %v", box, err)
		}
	}
	pushed := filepath.Join(inbox, "new", fmt.Sprintf("%d.e2e.local", time.Now().Unix()))
	os.WriteFile(pushed, []byte("From: me@example.test\r\nSubject: pushed by mbsync\r\n\r\nhi\r\n"), 0o600)
	runCases(t, dir, []clientCase{
		{name: "mbsync-plain-push", want: 0, argv: mb("plain")},
		{name: "mbsync-starttls", want: 0, argv: mb("starttls")},
		{name: "mbsync-imaps", want: 0, argv: mb("imaps")},
	})
	out, code := python(t, "pop3.py", popEnv(s.ports.POP3, "127.0.0.1", "user6@example.test", "pass6", "stat")...)
	if code != 0 || !strings.Contains(out, "stat 3") {
		t.Errorf("after the mbsync push POP3 should see 3 messages: exit %d: %s", code, out)
	}
}

func countDir(dir string) int {
	got, _ := os.ReadDir(dir)
	return len(got)
}
