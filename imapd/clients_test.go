package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestPythonImaplib runs a session with Python's imaplib.
func TestPythonImaplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	e := newEnv(t, withPlaintext)
	e.deliver("hello python")
	host, port, _ := net.SplitHostPort(e.addr)
	script := `
import imaplib, sys, os
M = imaplib.IMAP4(os.environ["HOST"], int(os.environ["PORT"]))
typ, _ = M.login(os.environ["USER"], os.environ["PASS"]); assert typ == "OK"
typ, boxes = M.list(); assert typ == "OK" and any(b'"INBOX"' in b or b' INBOX' in b for b in boxes), boxes
typ, data = M.select("INBOX"); assert typ == "OK" and data == [b"1"], data
typ, data = M.search(None, "UNSEEN"); assert data == [b"1"], data
typ, data = M.fetch("1", "(RFC822)"); assert b"hello python" in data[0][1], data
typ, data = M.search(None, "SEEN"); assert data == [b"1"], data
typ, data = M.append("Sent", r"(\Seen)", None, b"Subject: sent\r\n\r\nbody\r\n"); assert typ == "OK" and b"APPENDUID" in data[0], data
typ, data = M.uid("COPY", "1", "Trash"); assert typ == "OK", data
M.store("1", "+FLAGS", r"\Deleted")
typ, data = M.expunge(); assert data == [b"1"], data
typ, data = M.status("Trash", "(MESSAGES UNSEEN)"); assert b"MESSAGES 1" in data[0], data
M.create("Py/Sub"); M.rename("Py", "Py2"); M.delete("Py2/Sub")
M.logout()
print("ok")
`
	cmd := exec.Command(py, "-c", script)
	cmd.Env = append(os.Environ(), "HOST="+host, "PORT="+port, "USER="+testUser, "PASS="+testPass)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
}

// TestMbsync syncs both ways twice with isync; the second run must change
// nothing on either side.
func TestMbsync(t *testing.T) {
	mbsync, err := exec.LookPath("mbsync")
	if err != nil {
		t.Skip("mbsync not installed")
	}
	e := newEnv(t, withPlaintext)
	e.deliver("one")
	e.deliver("two")
	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(e.addr)
	local := filepath.Join(dir, "mail") + "/"
	conf := fmt.Sprintf(`IMAPAccount test
Host %s
Port %s
User %s
Pass "%s"
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account test

MaildirStore local
Path %s
Inbox %sINBOX
SubFolders Verbatim

Channel test
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
`, host, port, testUser, testPass, local, local)
	rc := filepath.Join(dir, "mbsyncrc")
	os.WriteFile(rc, []byte(conf), 0o600)
	os.MkdirAll(local, 0o700)
	run := func() {
		t.Helper()
		out, err := exec.Command(mbsync, "-c", rc, "-a").CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync: %v\n%s", err, out)
		}
	}
	run()
	// A message written locally is pushed to the server.
	newDir := filepath.Join(local, "INBOX", "new")
	if err := os.WriteFile(filepath.Join(newDir, "1.local.test"), []byte("From: me@example.com\r\nSubject: local\r\n\r\nhi\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(local, "Local", "cur"), 0o700)
	os.MkdirAll(filepath.Join(local, "Local", "new"), 0o700)
	os.MkdirAll(filepath.Join(local, "Local", "tmp"), 0o700)
	run()
	msgs, _ := e.st.Messages(context.Background(), e.inbox.ID)
	if len(msgs) != 3 {
		t.Fatalf("server INBOX has %d messages after push, want 3", len(msgs))
	}
	if _, err := e.st.MailboxByName(context.Background(), e.userID, "Local"); err != nil {
		t.Fatalf("local folder not created on the server: %v", err)
	}
	before, beforeSrv := snapshotDir(t, local), e.serverState()
	run()
	after, afterSrv := snapshotDir(t, local), e.serverState()
	if before != after {
		t.Errorf("second sync changed the maildir:\n%s\n---\n%s", before, after)
	}
	if beforeSrv != afterSrv {
		t.Errorf("second sync changed the server:\n%s\n---\n%s", beforeSrv, afterSrv)
	}
	if n := strings.Count(after, "INBOX/"); n < 3 {
		t.Errorf("local INBOX has %d entries:\n%s", n, after)
	}
}

// snapshotDir lists the files under dir except mbsync's own state.
func snapshotDir(t *testing.T, dir string) string {
	var names []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && !strings.Contains(p, ".mbsync") && !strings.HasSuffix(p, ".uidvalidity") {
			names = append(names, strings.TrimPrefix(p, dir))
		}
		return nil
	})
	sort.Strings(names)
	return strings.Join(names, "\n")
}

// serverState lists every mailbox with its UIDs and flags.
func (e *testEnv) serverState() string {
	ctx := context.Background()
	boxes, _ := e.st.Mailboxes(ctx, e.userID)
	var b strings.Builder
	for _, mb := range boxes {
		msgs, _ := e.st.Messages(ctx, mb.ID)
		fmt.Fprintf(&b, "%s uidnext=%d:", mb.Name, mb.UIDNext)
		for _, m := range msgs {
			fmt.Fprintf(&b, " %d%v", m.UID, m.Flags)
		}
		b.WriteString("\n")
	}
	return b.String()
}
