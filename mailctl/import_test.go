package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"mailsuite/shared/auth"
	"mailsuite/store"
)

// importEnv is a store with the user alice@example.com.
func importEnv(t *testing.T) *testEnv {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.ok("s3cret pass\n", "user", "add", "alice@example.com", "--password-stdin")
	return e
}

// mailboxState is what a client sees of a mailbox: UIDVALIDITY and each
// UID's flags.
func mailboxState(t *testing.T, st *store.Store, userID int64, name string) (store.Mailbox, map[uint32]string) {
	t.Helper()
	ctx := context.Background()
	mb, err := st.MailboxByName(ctx, userID, name)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := st.Messages(ctx, mb.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[uint32]string)
	for _, m := range msgs {
		f := slices.Clone(m.Flags)
		slices.Sort(f)
		got[m.UID] = strings.Join(f, " ")
	}
	return mb, got
}

func TestImportMaildir(t *testing.T) {
	e := importEnv(t)
	out, errs, code := e.exec("", "import", "maildir", "alice@example.com", "testdata/dovecot-maildir")
	if code != 0 {
		t.Fatalf("import: exit %d, stderr %q", code, errs)
	}
	// The damaged uidlist line and the empty message file are named.
	for _, want := range []string{"dovecot-uidlist:4", "cur/1700000005.M5P1.host:2,S: empty file"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q does not report %q", errs, want)
		}
	}
	if !strings.Contains(out, "6 messages imported, 0 already there, 1 damaged") {
		t.Errorf("stdout %q", out)
	}
	u := e.user("alice@example.com")
	st := e.openStore()

	inbox, flags := mailboxState(t, st, u.ID, "INBOX")
	want := map[uint32]string{1: `\Seen`, 2: `$Forwarded Work \Answered \Flagged`, 4: "", 6: ""}
	if inbox.UIDValidity != 1700000000 || fmt.Sprint(flags) != fmt.Sprint(want) || inbox.UIDNext != 7 {
		t.Errorf("INBOX: UIDVALIDITY %d UIDNEXT %d flags %v, want 1700000000, 7, %v", inbox.UIDValidity, inbox.UIDNext, flags, want)
	}
	body, err := st.MessageBody(context.Background(), inbox.ID, 2)
	if err != nil || !strings.HasPrefix(string(body), "From: bob@example.org\r\nTo:") {
		t.Errorf("UID 2 body %q, %v: want the file with CRLF line ends", body, err)
	}

	work, flags := mailboxState(t, st, u.ID, "Work")
	if work.UIDValidity != 1700000100 || work.UIDNext != 3 || fmt.Sprint(flags) != fmt.Sprint(map[uint32]string{2: `\Deleted \Seen`}) || !work.Subscribed {
		t.Errorf("Work: %+v flags %v", work, flags)
	}
	arch, flags := mailboxState(t, st, u.ID, "Archive/Résumé")
	if len(flags) != 1 || flags[1] != `\Seen` || arch.Subscribed {
		t.Errorf("Archive/Résumé: %+v flags %v, want UID 1 seen, unsubscribed", arch, flags)
	}

	// POP3 keeps Dovecot's UIDLs: the P field, else %08Xu%08Xv; a file
	// Dovecot had not listed gets mailsuite's own.
	pop, err := st.POP3Messages(context.Background(), inbox.ID, func(b []byte) int64 { return int64(len(b)) })
	if err != nil {
		t.Fatal(err)
	}
	var uidls []string
	for _, m := range pop {
		uidls = append(uidls, fmt.Sprintf("%d=%s", m.UID, m.UIDL))
	}
	if got, want := strings.Join(uidls, " "), "1=000000016553f100 2=000000026553f100 4=0000abcd.uidl 6="; got != want {
		t.Errorf("imported UIDLs %q, want %q", got, want)
	}

	// A second run adds nothing and changes nothing.
	out = e.okStdout("", "import", "maildir", "alice@example.com", "testdata/dovecot-maildir")
	if !strings.Contains(out, "0 messages imported, 6 already there") {
		t.Errorf("second import: %q", out)
	}
	if _, again := mailboxState(t, st, u.ID, "INBOX"); len(again) != 4 {
		t.Errorf("second import left INBOX with %v", again)
	}
}

func TestImportMaildirRefusesForeignUIDVALIDITY(t *testing.T) {
	e := importEnv(t)
	st := e.openStore()
	u := e.user("alice@example.com")
	inbox, _ := mailboxState(t, st, u.ID, "INBOX")
	if _, err := st.Append(context.Background(), inbox.ID, nil, st.Now(), []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	_, errs, code := e.exec("", "import", "maildir", "alice@example.com", "testdata/dovecot-maildir")
	if code != 1 || !strings.Contains(errs, "another UIDVALIDITY") {
		t.Errorf("import into a used INBOX: exit %d, stderr %q", code, errs)
	}
	if _, flags := mailboxState(t, st, u.ID, "INBOX"); len(flags) != 1 {
		t.Errorf("refused import left INBOX with %v", flags)
	}
	e.fail(1, "unknown user bob@example.com", "", "import", "maildir", "bob@example.com", "testdata/dovecot-maildir")
	e.fail(1, "not a maildir", "", "import", "maildir", "alice@example.com", "testdata")
}

// okStdout runs a command that must succeed; stderr may hold reports.
func (e *testEnv) okStdout(stdin string, args ...string) string {
	e.t.Helper()
	out, errs, code := e.exec(stdin, args...)
	if code != 0 {
		e.t.Fatalf("mailctl %q: exit %d, stderr %q", args, code, errs)
	}
	return out
}

func TestImportMbox(t *testing.T) {
	e := importEnv(t)
	out, errs, code := e.exec("", "import", "mbox", "alice@example.com", "Old/2006", "testdata/sample.mbox")
	if code != 0 || !strings.Contains(out, "Old/2006: 2 imported, 0 already there") {
		t.Fatalf("import: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if !strings.Contains(errs, "testdata/sample.mbox: message 2 ") || !strings.Contains(errs, "no header line") {
		t.Errorf("stderr %q does not name the damaged message", errs)
	}
	u := e.user("alice@example.com")
	st := e.openStore()
	mb, flags := mailboxState(t, st, u.ID, "Old/2006")
	if fmt.Sprint(flags) != fmt.Sprint(map[uint32]string{1: `\Answered \Flagged \Seen`, 2: ""}) {
		t.Errorf("flags %v", flags)
	}
	body, err := st.MessageBody(context.Background(), mb.ID, 1)
	want := "From: bob@example.org\r\nSubject: first\r\nStatus: RO\r\nX-Status: AF\r\n\r\nHello\r\nFrom the start\r\n>From quoted\r\n"
	if err != nil || string(body) != want {
		t.Errorf("body %q, %v\nwant %q", body, err, want)
	}
	msgs, _ := st.Messages(context.Background(), mb.ID)
	if len(msgs) != 2 || msgs[0].InternalDate.UTC().Format("2006-01-02 15:04:05") != "2006-01-02 15:04:05" {
		t.Errorf("messages %+v: want the date of the From line", msgs)
	}

	out = e.okStdout("", "import", "mbox", "alice@example.com", "Old/2006", "testdata/sample.mbox")
	if !strings.Contains(out, "0 imported, 2 already there") {
		t.Errorf("second import: %q", out)
	}
	e.fail(1, "not an mbox", "", "import", "mbox", "alice@example.com", "X", "testdata/dovecot-maildir/dovecot-keywords")
	e.fail(2, "is not a mailbox name", "", "import", "mbox", "alice@example.com", "Old//x", "testdata/sample.mbox")
}

func TestImportUsers(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	out, errs, code := e.exec("", "import", "users", "testdata/dovecot-passwd")
	if code != 0 || out != "5 users imported, 0 already there\n" {
		t.Fatalf("import: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	for _, want := range []string{
		"line 7: md5@example.com: password scheme {PLAIN-MD5} is not supported",
		"line 8: bad@example.com: malformed {SHA512-CRYPT} hash",
		"line 9: far@elsewhere.example: domain elsewhere.example is not local",
		`line 10: user "bare" is not an address`,
		"line 11: no user and password",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q lacks %q", errs, want)
		}
	}
	if strings.Contains(errs, "pass-") || strings.Contains(errs, "1a1dc91c") {
		t.Errorf("stderr quotes a password: %q", errs)
	}
	st := e.openStore()
	for _, c := range []struct{ addr, pw string }{
		{"argon@example.com", "pass-ARGON2ID"}, {"blf@example.com", "pass-BLF-CRYPT"},
		{"sha512@example.com", "pass-SHA512-CRYPT"}, {"sha256@example.com", "pass-SHA256-CRYPT"},
		{"plain@example.com", "pass-PLAIN"},
	} {
		u, err := st.UserByAddress(context.Background(), c.addr)
		if err != nil || !auth.CheckPassword(u.Hash, c.pw) || auth.CheckPassword(u.Hash, "x") || strings.Contains(u.Hash, "pass-") {
			t.Errorf("%s: stored %q, %v: does not check its password", c.addr, u.Hash, err)
		}
	}
	out = e.okStdout("", "import", "users", "testdata/dovecot-passwd")
	if out != "0 users imported, 5 already there\n" {
		t.Errorf("second import: %q", out)
	}
}
