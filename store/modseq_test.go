package store

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"
	"time"
)

func appendN(t *testing.T, s *Store, mailboxID int64, n int) {
	t.Helper()
	for range n {
		if _, err := s.Append(context.Background(), mailboxID, nil, time.Now(), []byte("Subject: x\r\n\r\nhi\r\n")); err != nil {
			t.Fatal(err)
		}
	}
}

func highest(t *testing.T, s *Store, mailboxID int64) uint64 {
	t.Helper()
	h, err := s.HighestModSeq(context.Background(), mailboxID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func uidsOfMessages(msgs []Message) []uint32 {
	var out []uint32
	for _, m := range msgs {
		out = append(out, m.UID)
	}
	return out
}

// Every insert, flag change and expunge takes a new mod-sequence of its
// mailbox; ChangedSince and VanishedSince return what changed after a
// point, and nothing else.
func TestModSeqTracksChanges(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	in, _ := s.MailboxByName(ctx, u.ID, "INBOX")
	h0 := highest(t, s, in.ID)
	appendN(t, s, in.ID, 5)
	h1 := highest(t, s, in.ID)
	if h1 != h0+5 {
		t.Fatalf("highest modseq %d after 5 appends from %d", h1, h0)
	}
	if err := s.StoreFlags(ctx, in.ID, []uint32{2, 4}, FlagsAdd, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreFlags(ctx, in.ID, []uint32{2}, FlagsAdd, []string{`\Seen`}); err != nil { // no change
		t.Fatal(err)
	}
	h2 := highest(t, s, in.ID)
	if h2 != h1+2 {
		t.Fatalf("highest modseq %d after 2 flag changes from %d", h2, h1)
	}
	changed, err := s.ChangedSince(ctx, in.ID, h1)
	if err != nil {
		t.Fatal(err)
	}
	if got := uidsOfMessages(changed); !slices.Equal(got, []uint32{2, 4}) || changed[1].ModSeq != h2 || len(changed[0].Flags) != 1 {
		t.Fatalf("changed since %d: %+v", h1, changed)
	}
	if err := s.Expunge(ctx, in.ID, []uint32{3, 4}); err != nil {
		t.Fatal(err)
	}
	h3 := highest(t, s, in.ID)
	if h3 != h2+2 {
		t.Fatalf("highest modseq %d after 2 expunges from %d", h3, h2)
	}
	gone, err := s.VanishedSince(ctx, in.ID, h2)
	if err != nil || !slices.Equal(gone, []uint32{3, 4}) {
		t.Fatalf("vanished since %d: %v, %v", h2, gone, err)
	}
	if gone, _ := s.VanishedSince(ctx, in.ID, h3); len(gone) != 0 {
		t.Fatalf("vanished since the latest modseq: %v", gone)
	}
	if changed, _ := s.ChangedSince(ctx, in.ID, h2); len(changed) != 0 {
		t.Fatalf("expunged messages listed as changed: %+v", changed)
	}
	msgs, err := s.MessagesModSeq(ctx, in.ID, []uint32{1, 2, 5})
	if err != nil || len(msgs) != 3 || msgs[1].ModSeq != h1+1 || msgs[2].ModSeq != h0+5 {
		t.Fatalf("messages with modseq: %+v, %v", msgs, err)
	}
	// A copy is an insert in the destination.
	dst, err := s.CreateMailbox(ctx, u.ID, "Archive", "")
	if err != nil {
		t.Fatal(err)
	}
	d0 := highest(t, s, dst.ID)
	if _, _, err := s.MoveMessages(ctx, in.ID, []uint32{1}, dst.ID); err != nil {
		t.Fatal(err)
	}
	if highest(t, s, dst.ID) != d0+1 || highest(t, s, in.ID) != h3+1 {
		t.Fatal("a move did not count as an insert and an expunge")
	}
	// Deleting a mailbox forgets its mod-sequences and tombstones.
	if err := s.DeleteMailbox(ctx, dst.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	s.r.QueryRow(`SELECT (SELECT count(*) FROM vanished WHERE mailbox_id = ?) + (SELECT count(*) FROM message_modseq WHERE mailbox_id = ?)`, dst.ID, dst.ID).Scan(&n)
	if n != 0 {
		t.Fatalf("%d rows left of a deleted mailbox", n)
	}
}

// A conditional store changes the messages not modified after the given
// mod-sequence and reports the others.
func TestStoreFlagsUnchangedSince(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	in, _ := s.MailboxByName(ctx, u.ID, "INBOX")
	appendN(t, s, in.ID, 3)
	h := highest(t, s, in.ID)
	if err := s.StoreFlags(ctx, in.ID, []uint32{2}, FlagsAdd, []string{"other"}); err != nil {
		t.Fatal(err)
	}
	modified, err := s.StoreFlagsUnchangedSince(ctx, in.ID, []uint32{1, 2, 3, 9}, FlagsAdd, []string{`\Flagged`}, h)
	if err != nil || !slices.Equal(modified, []uint32{2}) {
		t.Fatalf("modified %v, %v; want [2]", modified, err)
	}
	msgs, _ := s.MessagesIn(ctx, in.ID, []uint32{1, 2, 3})
	if joinFlags(msgs[0].Flags) != `\Flagged` || joinFlags(msgs[1].Flags) != "other" || joinFlags(msgs[2].Flags) != `\Flagged` {
		t.Fatalf("flags after conditional store: %+v", msgs)
	}
	if modified, _ := s.StoreFlagsUnchangedSince(ctx, in.ID, []uint32{1}, FlagsAdd, []string{"x"}, 0); !slices.Equal(modified, []uint32{1}) {
		t.Fatalf("UNCHANGEDSINCE 0 left %v modified, want [1]", modified)
	}
}

// A store written before migration 5 gets a mod-sequence for each of its
// messages, and counts on from there.
func TestMigrateModSeq(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	old := fstest.MapFS{}
	for _, name := range []string{"0001_init.sql", "0002_auth.sql", "0003_quota.sql", "0004_imap.sql"} {
		b, err := fs.ReadFile(embeddedMigrations, "migrations/sqlite/"+name)
		if err != nil {
			t.Fatal(err)
		}
		old["migrations/"+name] = &fstest.MapFile{Data: b}
	}
	s, err := Open(path, withMigrations(old))
	if err != nil {
		t.Fatal(err)
	}
	u := seed(t, s)
	ctx := context.Background()
	in, _ := s.MailboxByName(ctx, u.ID, "INBOX")
	appendN(t, s, in.ID, 3)
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if h := highest(t, s, in.ID); h != 1 {
		t.Fatalf("highest modseq %d after migration, want 1", h)
	}
	msgs, err := s.MessagesModSeq(ctx, in.ID, []uint32{1, 2, 3})
	if err != nil || len(msgs) != 3 || msgs[0].ModSeq != 1 {
		t.Fatalf("migrated messages: %+v, %v", msgs, err)
	}
	if err := s.StoreFlags(ctx, in.ID, []uint32{3}, FlagsAdd, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	changed, err := s.ChangedSince(ctx, in.ID, 1)
	if err != nil || !slices.Equal(uidsOfMessages(changed), []uint32{3}) || changed[0].ModSeq != 2 {
		t.Fatalf("changed after migration: %+v, %v", changed, err)
	}
}
