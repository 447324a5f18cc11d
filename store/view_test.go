package store

import (
	"context"
	"slices"
	"testing"
)

// ChangesWithFlags reads the flags of the messages a batch changed, and
// only theirs, wherever they lie in the mailbox and however many there
// are (past one IN list).
func TestChangesWithFlagsSparse(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	in, _ := s.MailboxByName(ctx, u.ID, "INBOX")
	appendN(t, s, in.ID, 200)
	cur, err := s.StartChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want []uint32
	for uid := uint32(1); uid <= 200; uid += 3 { // 67 messages: two IN lists
		want = append(want, uid)
	}
	want = append(want, 200)
	if err := s.StoreFlags(ctx, in.ID, want, FlagsAdd, []string{`\Flagged`}); err != nil {
		t.Fatal(err)
	}
	changes, msgs, err := s.ChangesWithFlags(ctx, &cur, func(int64) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != len(want) {
		t.Fatalf("%d changes, want %d", len(changes), len(want))
	}
	if got := uidsOfMessages(msgs); !slices.Equal(got, want) {
		t.Fatalf("messages read: %v, want %v", got, want)
	}
	for _, m := range msgs {
		if !slices.Equal(m.Flags, []string{`\Flagged`}) || m.ModSeq == 0 {
			t.Fatalf("UID %d: flags %v modseq %d", m.UID, m.Flags, m.ModSeq)
		}
	}
	if _, msgs, _ := s.ChangesWithFlags(ctx, &cur, func(int64) bool { return true }); len(msgs) != 0 {
		t.Fatalf("nothing changed, yet %d messages", len(msgs))
	}
}

// MailboxView is every message with its flags and mod-sequence, and the
// next UID, in one snapshot.
func TestMailboxView(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	in, _ := s.MailboxByName(ctx, u.ID, "INBOX")
	appendN(t, s, in.ID, 4)
	if err := s.StoreFlags(ctx, in.ID, []uint32{3}, FlagsAdd, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	if err := s.Expunge(ctx, in.ID, []uint32{2}); err != nil {
		t.Fatal(err)
	}
	msgs, next, err := s.MailboxView(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := uidsOfMessages(msgs); !slices.Equal(got, []uint32{1, 3, 4}) || next != 5 {
		t.Fatalf("view %v next %d, want [1 3 4] next 5", got, next)
	}
	changed, err := s.ChangedSince(ctx, in.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if m.ModSeq != changed[i].ModSeq || !slices.Equal(m.Flags, changed[i].Flags) || m.Size != changed[i].Size {
			t.Fatalf("view %+v, store %+v", m, changed[i])
		}
	}
	if _, _, err := s.MailboxView(ctx, 9999); err == nil {
		t.Fatal("view of a mailbox that does not exist")
	}
}
