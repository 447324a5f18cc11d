package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestStoreFlagsAndStatus(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	in, _ := s.MailboxByName(ctx, u.ID, "INBOX")
	for i := 0; i < 3; i++ {
		if _, err := s.Append(ctx, in.ID, nil, time.Now(), []byte("Subject: x\r\n\r\nhi\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	last, _ := s.LastChange(ctx)
	if err := s.StoreFlags(ctx, in.ID, []uint32{1, 2, 99}, FlagsAdd, []string{`\Seen`, "work"}); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreFlags(ctx, in.ID, []uint32{1}, FlagsAdd, []string{`\Seen`}); err != nil { // no change
		t.Fatal(err)
	}
	if err := s.StoreFlags(ctx, in.ID, []uint32{2}, FlagsDel, []string{"WORK"}); err != nil {
		t.Fatal(err)
	}
	ch, _ := s.ChangesSince(ctx, last, 100)
	if len(ch) != 3 || ch[0].Kind != ChangeFlags {
		t.Fatalf("changes %+v, want 3 flag changes", ch)
	}
	msgs, _ := s.MessagesIn(ctx, in.ID, []uint32{1, 2, 3})
	if len(msgs) != 3 || joinFlags(msgs[0].Flags) != `\Seen work` || joinFlags(msgs[1].Flags) != `\Seen` || msgs[2].Flags != nil {
		t.Fatalf("flags %+v", msgs)
	}
	st, err := s.Status(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 3 || st.Unseen != 1 || st.UIDNext != 4 || st.Size != 3*18 {
		t.Fatalf("status %+v", st)
	}
}

func TestCopyMove(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	in, _ := s.MailboxByName(ctx, u.ID, "INBOX")
	trash, _ := s.MailboxByName(ctx, u.ID, "Trash")
	for i := 0; i < 3; i++ {
		s.Append(ctx, in.ID, []string{"a"}, time.Now(), []byte("m\r\n"))
	}
	from, to, err := s.CopyMessages(ctx, in.ID, []uint32{1, 3, 7}, trash.ID)
	if err != nil || len(from) != 2 || from[1] != 3 || to[0] != 1 || to[1] != 2 {
		t.Fatalf("copy: %v %v %v", from, to, err)
	}
	from, to, err = s.MoveMessages(ctx, in.ID, []uint32{2}, trash.ID)
	if err != nil || len(to) != 1 || to[0] != 3 {
		t.Fatalf("move: %v %v %v", from, to, err)
	}
	uids, next, _ := s.MailboxUIDs(ctx, in.ID)
	if len(uids) != 2 || next != 4 {
		t.Fatalf("INBOX after move %v next %d", uids, next)
	}
	uids, next, _ = s.MailboxUIDs(ctx, trash.ID)
	if len(uids) != 3 || next != 4 {
		t.Fatalf("Trash %v next %d", uids, next)
	}
}

func TestRenameDelete(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	for _, n := range []string{"a", "a/b", "ab"} {
		if _, err := s.CreateMailbox(ctx, u.ID, n, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RenameMailbox(ctx, u.ID, "a", "x"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"x", "x/b", "ab"} {
		if _, err := s.MailboxByName(ctx, u.ID, n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if err := s.RenameMailbox(ctx, u.ID, "x", "ab"); !errors.Is(err, ErrExists) {
		t.Errorf("rename onto existing: %v", err)
	}
	if err := s.RenameMailbox(ctx, u.ID, "nope", "y"); !errors.Is(err, ErrNotFound) {
		t.Errorf("rename missing: %v", err)
	}
	in, _ := s.MailboxByName(ctx, u.ID, "INBOX")
	s.Append(ctx, in.ID, nil, time.Now(), []byte("m\r\n"))
	if err := s.RenameMailbox(ctx, u.ID, "INBOX", "Old"); err != nil {
		t.Fatal(err)
	}
	old, _ := s.MailboxByName(ctx, u.ID, "Old")
	if uids, _, _ := s.MailboxUIDs(ctx, old.ID); len(uids) != 1 {
		t.Fatalf("Old has %v", uids)
	}
	if uids, next, _ := s.MailboxUIDs(ctx, in.ID); len(uids) != 0 || next != 2 {
		t.Fatalf("INBOX has %v next %d", uids, next)
	}
	last, _ := s.LastChange(ctx)
	if err := s.DeleteMailbox(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	ch, _ := s.ChangesSince(ctx, last, 10)
	if len(ch) != 2 || ch[0].Kind != ChangeExpunge || ch[1].Kind != ChangeMailbox {
		t.Fatalf("changes %+v", ch)
	}
	if err := s.SetSubscribed(ctx, in.ID, false); err != nil {
		t.Fatal(err)
	}
	if mb, _ := s.MailboxByID(ctx, in.ID); mb.Subscribed {
		t.Fatal("still subscribed")
	}
}

// TestChangesWithFlags reads every change since a point with the flags
// of the messages they touched, in one snapshot.
func TestChangesWithFlags(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	mb := inbox(t, s, u.ID)
	cur, err := s.StartChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	uid, err := s.Append(ctx, mb.ID, nil, time.Now(), []byte("m\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StoreFlags(ctx, mb.ID, []uint32{uid}, FlagsAdd, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	changes, msgs, err := s.ChangesWithFlags(ctx, &cur, func(id int64) bool { return id == mb.ID })
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0].Kind != ChangeNew || changes[1].Kind != ChangeFlags || changes[1].UID != uid {
		t.Fatalf("changes = %+v", changes)
	}
	if len(msgs) != 1 || msgs[0].UID != uid || len(msgs[0].Flags) != 1 || msgs[0].Flags[0] != `\Seen` || msgs[0].ModSeq == 0 {
		t.Fatalf("messages = %+v", msgs)
	}
}
