package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/shared/auth"
	"mailsuite/store"
)

// The import test against the real thing: Dovecot, started here on
// loopback with maildir storage, receives mail over IMAP APPEND; flags
// and keywords are set and messages expunged; then its maildir and
// passwd-file are imported, and what mailsuite serves must be what
// Dovecot served: UIDVALIDITY, UIDs, flags, POP3 UIDLs, the password.

// doveUser's password is stored in Dovecot's passwd-file as SHA512-CRYPT
// (made with doveadm pw).
const (
	doveUser = "alice@example.com"
	dovePass = "pass-SHA512-CRYPT"
	doveHash = "{SHA512-CRYPT}$6$/06hvPYInWlPJclz$v8c4YCxUk1bseKfW4oajanlRlUIhh2PHWfiD0N5N0mKKjEVSUwTx7gA93I7I0t26GsURkfU1MuMFhE5n/ABhK0"
)

// startDovecotMaildir runs Dovecot (IMAP and POP3) on loopback and
// returns the addresses, the passwd-file and the user's maildir.
func startDovecotMaildir(t *testing.T) (imapAddr, popAddr, passwd, maildir string) {
	if _, err := os.Stat(testutil.DovecotBin); err != nil {
		t.Skip("dovecot not installed (Debian: dovecot-imapd, dovecot-pop3d)")
	}
	if _, err := os.Stat("/usr/lib/dovecot/pop3"); err != nil {
		t.Skip("dovecot pop3 not installed (Debian: dovecot-pop3d)")
	}
	dir, err := os.MkdirTemp("", "dovecot-import")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	passwd = filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte(doveUser+":"+doveHash+"::::::\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mail := filepath.Join(dir, "mail")
	if err := os.Mkdir(mail, 0o755); err != nil {
		t.Fatal(err)
	}
	internal, login, uid := "dovecot", "dovenull", 65534
	if os.Getuid() != 0 {
		t.Skip("the Dovecot import test runs as root (as CI does)")
	}
	if err := os.Chown(mail, uid, uid); err != nil {
		t.Fatal(err)
	}
	imapAddr, popAddr = testutil.FreePort(t), testutil.FreePort(t)
	_, imapPort, _ := net.SplitHostPort(imapAddr)
	_, popPort, _ := net.SplitHostPort(popAddr)
	conf := fmt.Sprintf(`protocols = imap pop3
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = mailsuite-import-%[5]s
log_path = %[1]s/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = %[3]s
default_login_user = %[4]s
first_valid_uid = 1
mail_location = maildir:%[2]s/%%u
passdb {
  driver = passwd-file
  args = username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=%[2]s/%%u
}
namespace inbox {
  inbox = yes
  separator = /
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[5]s
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = %[6]s
  }
}
`, dir, mail, internal, login, imapPort, popPort)
	testutil.StartDovecot(t, dir, conf, imapAddr, popAddr)
	return imapAddr, popAddr, passwd, filepath.Join(mail, doveUser)
}

// lineConn is a line-oriented client of a text protocol.
type lineConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialLines(t *testing.T, addr string) *lineConn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	t.Cleanup(func() { c.Close() })
	l := &lineConn{t: t, c: c, r: bufio.NewReader(c)}
	l.line() // greeting
	return l
}

func (l *lineConn) line() string {
	s, err := l.r.ReadString('\n')
	if err != nil {
		l.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(s, "\r\n")
}

// imap sends one tagged command and returns its untagged lines; it fails
// the test unless the command ends OK.
func (l *lineConn) imap(cmd string) []string {
	fmt.Fprintf(l.c, "t %s\r\n", cmd)
	var out []string
	for {
		s := l.line()
		if strings.HasPrefix(s, "t ") {
			if !strings.HasPrefix(s, "t OK") {
				l.t.Fatalf("dovecot: %s: %s", cmd, s)
			}
			return out
		}
		out = append(out, s)
	}
}

// pop sends a POP3 command and returns its reply lines (multi-line if
// multi), failing the test on -ERR.
func (l *lineConn) pop(cmd string, multi bool) []string {
	fmt.Fprintf(l.c, "%s\r\n", cmd)
	if s := l.line(); !strings.HasPrefix(s, "+OK") {
		l.t.Fatalf("dovecot: %s: %s", cmd, s)
	}
	var out []string
	for multi {
		s := l.line()
		if s == "." {
			break
		}
		out = append(out, s)
	}
	return out
}

var (
	fetchUID   = regexp.MustCompile(`UID (\d+)`)
	fetchFlags = regexp.MustCompile(`FLAGS \(([^)]*)\)`)
	statusUV   = regexp.MustCompile(`UIDVALIDITY (\d+)`)
)

// doveState is a mailbox as Dovecot serves it: "UIDVALIDITY uid:flags...".
func doveState(l *lineConn, name string) string {
	uv := statusUV.FindStringSubmatch(strings.Join(l.imap(`STATUS "`+name+`" (UIDVALIDITY)`), " "))
	l.imap(`EXAMINE "` + name + `"`)
	var parts []string
	for _, s := range l.imap("UID FETCH 1:* (UID FLAGS)") {
		u, f := fetchUID.FindStringSubmatch(s), fetchFlags.FindStringSubmatch(s)
		if u == nil || f == nil {
			continue
		}
		flags := slices.DeleteFunc(strings.Fields(f[1]), func(s string) bool { return s == `\Recent` })
		slices.Sort(flags)
		parts = append(parts, u[1]+":"+strings.Join(flags, ","))
	}
	return uv[1] + " " + strings.Join(parts, " ")
}

// ourState is the same view of a mailsuite mailbox.
func ourState(t *testing.T, st *store.Store, userID int64, name string) string {
	mb, flags := mailboxState(t, st, userID, name)
	msgs, _ := st.Messages(context.Background(), mb.ID)
	parts := []string{fmt.Sprint(mb.UIDValidity)}
	for _, m := range msgs {
		parts = append(parts, fmt.Sprintf("%d:%s", m.UID, strings.ReplaceAll(flags[m.UID], " ", ",")))
	}
	return strings.Join(parts, " ")
}

func TestImportFromDovecot(t *testing.T) {
	imapAddr, popAddr, passwd, maildir := startDovecotMaildir(t)
	c := dialLines(t, imapAddr)
	c.imap(`LOGIN ` + doveUser + ` "` + dovePass + `"`)
	c.imap(`CREATE "Work/2024"`)
	for i := 1; i <= 6; i++ {
		m := fmt.Sprintf("From: bob@example.org\r\nSubject: message %d\r\nMessage-ID: <%d@example.org>\r\n\r\nbody %d\r\n", i, i, i)
		c.imap(fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(m), m))
		if i%2 == 0 {
			c.imap(fmt.Sprintf("APPEND \"Work/2024\" (\\Seen) {%d+}\r\n%s", len(m), m))
		}
	}
	c.imap("SELECT INBOX")
	c.imap(`STORE 1 +FLAGS (\Seen $Forwarded Project)`)
	c.imap(`STORE 2 +FLAGS (\Flagged \Answered)`)
	c.imap(`STORE 3,5 +FLAGS (\Deleted)`)
	c.imap("EXPUNGE")
	c.imap(`STORE 3 +FLAGS (\Draft Project)`)
	c.imap(`STORE 2 +FLAGS (\Deleted)`) // kept, flagged deleted
	c.imap("UNSELECT")
	wantInbox, wantWork := doveState(c, "INBOX"), doveState(c, "Work/2024")
	c.imap("LOGOUT")

	p := dialLines(t, popAddr)
	p.pop("USER "+doveUser, false)
	p.pop("PASS "+dovePass, false)
	wantUIDL := p.pop("UIDL", true)
	p.pop("QUIT", false)

	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.okStdout("", "import", "users", passwd)
	out := e.okStdout("", "import", "maildir", doveUser, maildir)
	t.Logf("import: %s", out)

	st := e.openStore()
	u := e.user(doveUser)
	if got := ourState(t, st, u.ID, "INBOX"); got != wantInbox {
		t.Errorf("INBOX\n  mailsuite: %s\n  dovecot:   %s", got, wantInbox)
	}
	if got := ourState(t, st, u.ID, "Work/2024"); got != wantWork {
		t.Errorf("Work/2024\n  mailsuite: %s\n  dovecot:   %s", got, wantWork)
	}
	inbox, _ := st.MailboxByName(context.Background(), u.ID, "INBOX")
	pop, err := st.POP3Messages(context.Background(), inbox.ID, func(b []byte) int64 { return int64(len(b)) })
	if err != nil {
		t.Fatal(err)
	}
	var gotUIDL []string
	for i, m := range pop {
		gotUIDL = append(gotUIDL, fmt.Sprintf("%d %s", i+1, m.UIDL))
	}
	if fmt.Sprint(gotUIDL) != fmt.Sprint(wantUIDL) {
		t.Errorf("POP3 UIDL\n  mailsuite: %q\n  dovecot:   %q", gotUIDL, wantUIDL)
	}
	if !auth.CheckPassword(u.Hash, dovePass) {
		t.Errorf("the imported user does not log in with the Dovecot password")
	}
}
