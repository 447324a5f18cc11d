package imapserver

// mailsuite: BODYSTRUCTURE next to Dovecot's own answer for the same
// messages. Dovecot's imap binary runs pre-authenticated on a pipe over a
// maildir this test writes; the test skips when it is not installed.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// dovecotIMAP returns the path of Dovecot's imap binary, or "".
func dovecotIMAP() string {
	for _, p := range []string{"/usr/lib/dovecot/imap", "/usr/libexec/dovecot/imap"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// dovecotBodyStructure asks Dovecot for the BODYSTRUCTURE of msg.
func dovecotBodyStructure(t *testing.T, bin, dir string, msg []byte) string {
	t.Helper()
	mail := filepath.Join(dir, "mail")
	if err := os.RemoveAll(mail); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(mail, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(mail, "cur", "1.eml:2,"), msg, 0o644); err != nil {
		t.Fatal(err)
	}
	chownTree(t, dir)
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "dovecot.conf"))
	cmd.Env = []string{"USER=tester", "HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("a SELECT INBOX\r\nb FETCH 1 (BODYSTRUCTURE)\r\nc LOGOUT\r\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dovecot: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\r\n") {
		if rest, ok := strings.CutPrefix(l, "* 1 FETCH (BODYSTRUCTURE "); ok {
			return strings.TrimSuffix(rest, ")")
		}
	}
	t.Fatalf("no BODYSTRUCTURE from dovecot:\n%s", out)
	return ""
}

// mailUser is who Dovecot runs as: itself, or nobody when the test runs as
// root (Dovecot refuses mail access as root).
var mailUser *user.User

func chownTree(t *testing.T, dir string) {
	if mailUser == nil {
		return
	}
	uid, _ := strconv.Atoi(mailUser.Uid)
	gid, _ := strconv.Atoi(mailUser.Gid)
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Lchown(p, uid, gid)
		}
		return err
	})
}

func TestBodyStructureNextToDovecot(t *testing.T) {
	bin := dovecotIMAP()
	if bin == "" {
		t.Skip("Dovecot not installed (Debian: dovecot-imapd)")
	}
	dir, err := os.MkdirTemp("", "dovecot-mime")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	extra := ""
	if os.Geteuid() == 0 {
		if mailUser, err = user.Lookup("nobody"); err != nil {
			t.Skip("running as root without a nobody user")
		}
		extra = fmt.Sprintf("mail_uid = %s\nmail_gid = %s\n", mailUser.Uid, mailUser.Gid)
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
mail_location = maildir:%[1]s/mail
ssl = no
first_valid_uid = 1
first_valid_gid = 1
%[2]s`, dir, extra)
	if err := os.WriteFile(filepath.Join(dir, "dovecot.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	msgs := map[string][]byte{
		"plain":        []byte("From: a@b.c\r\nSubject: hi\r\n\r\nhello\r\nworld\r\n"),
		"empty":        []byte(""),
		"header only":  []byte("Subject: x\r\nContent-Type: text/html"),
		"empty mp":     []byte("Content-Type: multipart/mixed; boundary=zzz\r\n\r\n"),
		"closed mp":    []byte("Content-Type: multipart/mixed; boundary=zzz\r\n\r\n--zzz--\r\n"),
		"no boundary":  []byte("Content-Type: multipart/mixed\r\n\r\n--\r\nContent-Type: text/plain\r\n\r\nabc\r\n----\r\n"),
		"unterminated": []byte("Content-Type: multipart/mixed; boundary=zzz\r\n\r\n--zzz\r\nContent-Type: text/plain\r\n\r\nabc\r\ndef\r\n"),
		"nested": []byte("Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\npreamble\r\n--xx\r\nContent-Type: text/plain; charset=utf-8\r\n\r\npart one\r\n" +
			"--xx\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: x@y.z\r\n\r\ninner body\r\nline2\r\n--xx\r\n" +
			"Content-Type: multipart/alternative; boundary=yy\r\n\r\n--yy\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--yy--\r\n\r\n--xx--\r\nepilogue\r\n"),
		"digest":             []byte("Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: d1\r\n\r\nbody\r\n--d--\r\n"),
		"bare LF":            []byte("Content-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\na\n--q--\n"),
		"empty rfc822":       []byte("Content-Type: message/rfc822\r\n\r\n"),
		"deep message":       nestedMessages(105),
		"deep multipart":     nestedMultiparts(105),
		"nested unterminate": []byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ninner\r\n--a\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--a--\r\n"),
	}
	for name, msg := range msgs {
		want := dovecotBodyStructure(t, bin, dir, msg)
		got := bodyStructureString(ExtractBodyStructure(bytes.NewReader(msg)))
		if got != want {
			t.Errorf("%s:\n ours    %s\n dovecot %s", name, got, want)
		}
	}
}
