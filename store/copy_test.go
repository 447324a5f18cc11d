package store

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailsuite/internal/pgtest"
)

// fill gives a store some of everything the copy must keep: two users,
// an alias, mail with flags and keywords, an expunged UID, a folder, a
// grant and a queued message.
func fill(t *testing.T, s *Store) (a, b User) {
	t.Helper()
	ctx := context.Background()
	a = seed(t, s)
	if _, err := s.AddUser(ctx, "b@example.com", "hash-b", false); err != nil {
		t.Fatal(err)
	}
	b, _ = s.UserByAddress(ctx, "b@example.com")
	if err := s.AddAlias(ctx, "info@example.com", "a@example.com"); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		env := Envelope{From: "x@remote.test", Local: []int64{a.ID, b.ID}}
		if i == 2 {
			env.Remote = []string{"far@remote.test"}
		}
		body := "Subject: m" + strings.Repeat("x", i) + "\r\n\r\nbody\x00\xff" + strings.Repeat("y", i*100) + "\r\n"
		if err := s.Accept(ctx, env, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	inbox, _ := s.MailboxByName(ctx, a.ID, "INBOX")
	if err := s.StoreFlags(ctx, inbox.ID, []uint32{1, 3}, FlagsAdd, []string{`\Seen`, "$label1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Expunge(ctx, inbox.ID, []uint32{2}); err != nil {
		t.Fatal(err)
	}
	work, err := s.CreateMailbox(ctx, a.ID, "Work", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CopyMessages(ctx, inbox.ID, []uint32{3, 4}, work.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Grant(ctx, "192.0.2.7", a.ID, 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// A SQLite store copied into PostgreSQL has the same rows (checksums),
// the same UIDVALIDITY, UIDs and POP3 UIDLs, the same grants and queue,
// and the copy goes on allocating ids and UIDs after the copied ones.
func TestCopyToPostgres(t *testing.T) {
	ctx := context.Background()
	src, err := Open(filepath.Join(t.TempDir(), "mail.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	a, _ := fill(t, src)
	dst, err := OpenPostgres(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()

	copied := map[string]int64{}
	if err := src.CopyTo(ctx, dst, func(table string, n int64) { copied[table] = n }); err != nil {
		t.Fatal(err)
	}
	if copied["messages"] != 13 || copied["users"] != 2 || copied["queue"] != 1 {
		t.Errorf("copied rows = %v, want 13 messages, 2 users, 1 queue", copied)
	}
	want, err := src.Checksums(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dst.Checksums(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("checksums differ:\nsqlite   %v\npostgres %v", want, got)
	}

	for _, name := range []string{"INBOX", "Work"} {
		sm, _ := src.MailboxByName(ctx, a.ID, name)
		dm, err := dst.MailboxByName(ctx, a.ID, name)
		if err != nil || dm.UIDValidity != sm.UIDValidity || dm.ID != sm.ID {
			t.Errorf("%s: postgres %+v (%v), sqlite %+v", name, dm, err, sm)
		}
		su, snext, _ := src.MailboxUIDs(ctx, sm.ID)
		du, dnext, err := dst.MailboxUIDs(ctx, dm.ID)
		if err != nil || !reflect.DeepEqual(du, su) || dnext != snext {
			t.Errorf("%s UIDs: postgres %v next %d (%v), sqlite %v next %d", name, du, dnext, err, su, snext)
		}
		size := func(b []byte) int64 { return int64(len(b)) }
		sp, _ := src.POP3Messages(ctx, sm.ID, size)
		dp, err := dst.POP3Messages(ctx, dm.ID, size)
		if err != nil || !reflect.DeepEqual(dp, sp) {
			t.Errorf("%s POP3 list: postgres %v (%v), sqlite %v", name, dp, err, sp)
		}
	}
	if g, err := dst.LiveGrants(ctx, "192.0.2.7"); err != nil || len(g) != 1 || g[0].User.ID != a.ID {
		t.Errorf("grants after copy = %+v, %v", g, err)
	}

	// New rows get new ids and the next UID.
	if err := dst.Accept(ctx, Envelope{Local: []int64{a.ID}}, []byte("Subject: after\r\n\r\nx\r\n")); err != nil {
		t.Fatalf("delivery after the copy: %v", err)
	}
	inbox, _ := dst.MailboxByName(ctx, a.ID, "INBOX")
	uids, _, _ := dst.MailboxUIDs(ctx, inbox.ID)
	if last := uids[len(uids)-1]; last != 7 {
		t.Errorf("UID of the first message after the copy = %d, want 7 (UIDs %v)", last, uids)
	}
	if _, err := dst.CreateMailbox(ctx, a.ID, "Later", ""); err != nil {
		t.Errorf("mailbox after the copy: %v", err)
	}

	// A changed row shows in the sums; a second copy is refused.
	got, _ = dst.Checksums(ctx)
	if reflect.DeepEqual(got, want) {
		t.Error("checksums unchanged after a delivery")
	}
	if err := src.CopyTo(ctx, dst, nil); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("copy into a used store: %v, want a refusal naming it not empty", err)
	}
}

// A store that is not PostgreSQL is refused as a destination before
// anything is read.
func TestCopyToSQLiteRefused(t *testing.T) {
	src := openTest(t)
	dst, err := Open(filepath.Join(t.TempDir(), "mail.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := src.CopyTo(context.Background(), dst, nil); err == nil || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Fatalf("copy into SQLite: %v", err)
	}
}

// The sums ignore row order and storage class, and see every value.
func TestChecksumCanonical(t *testing.T) {
	a, _ := appendCanonical(nil, "c", "abc")
	b, _ := appendCanonical(nil, "c", []byte("abc"))
	if string(a) != string(b) {
		t.Error("text and bytes of one value encode differently")
	}
	x, _ := appendCanonical(nil, "c", int64(5))
	y, _ := appendCanonical(nil, "c", "5")
	if string(x) == string(y) {
		t.Error("the number 5 and the text 5 encode alike")
	}
	n, _ := appendCanonical(nil, "c", nil)
	e, _ := appendCanonical(nil, "c", "")
	if string(n) == string(e) {
		t.Error("NULL and the empty text encode alike")
	}
	if _, err := appendCanonical(nil, "c", time.Now()); err == nil {
		t.Error("a value of an unknown type was accepted")
	}
}
