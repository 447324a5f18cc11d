package store

import (
	"context"
	"testing"
)

// TestAcceptJunk delivers quarantined mail to the user's \Junk mailbox,
// follows it when renamed, and creates Junk again when it was deleted.
func TestAcceptJunk(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	accept := func(body string) {
		t.Helper()
		if err := s.Accept(ctx, Envelope{Local: []int64{u.ID}, Junk: true}, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	count := func(name string) int {
		t.Helper()
		mb, err := s.MailboxByName(ctx, u.ID, name)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := s.Messages(ctx, mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(msgs)
	}

	accept("one\r\n")
	if count("Junk") != 1 || count("INBOX") != 0 {
		t.Fatalf("Junk %d, INBOX %d: want the message in Junk only", count("Junk"), count("INBOX"))
	}

	if err := s.RenameMailbox(ctx, u.ID, "Junk", "Spam"); err != nil {
		t.Fatal(err)
	}
	accept("two\r\n")
	if count("Spam") != 2 {
		t.Fatalf("Spam (the renamed \\Junk) holds %d, want 2", count("Spam"))
	}

	spam, _ := s.MailboxByName(ctx, u.ID, "Spam")
	if err := s.DeleteMailbox(ctx, spam.ID); err != nil {
		t.Fatal(err)
	}
	accept("three\r\n")
	mb, err := s.MailboxByName(ctx, u.ID, "Junk")
	if err != nil || mb.SpecialUse != `\Junk` {
		t.Fatalf("Junk after deletion: %+v, %v; want it created with \\Junk", mb, err)
	}
	if count("Junk") != 1 || count("INBOX") != 0 {
		t.Fatalf("Junk %d, INBOX %d after re-creation", count("Junk"), count("INBOX"))
	}
}
