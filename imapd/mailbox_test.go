package main

import (
	"context"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestMailboxes(t *testing.T) {
	e := newEnv(t)
	c := e.client(nil)
	list := func() map[string][]imap.MailboxAttr {
		t.Helper()
		l, err := c.List("", "*", nil).Collect()
		if err != nil {
			t.Fatal(err)
		}
		out := make(map[string][]imap.MailboxAttr)
		for _, d := range l {
			if d.Delim != '/' {
				t.Errorf("delim %q", d.Delim)
			}
			out[d.Mailbox] = d.Attrs
		}
		return out
	}
	got := list()
	for _, n := range []string{"INBOX", "Sent", "Drafts", "Trash", "Junk"} {
		if _, ok := got[n]; !ok {
			t.Errorf("missing %s in %v", n, got)
		}
	}
	if !slices.Contains(got["Sent"], imap.MailboxAttrSent) || !slices.Contains(got["Junk"], imap.MailboxAttrJunk) {
		t.Errorf("special use missing: %v", got)
	}

	if err := c.Create("Work/2024/Q1", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Work", nil).Wait(); err == nil {
		t.Error("CREATE of an existing mailbox succeeded")
	}
	got = list()
	if _, ok := got["Work/2024"]; !ok || !slices.Contains(got["Work"], imap.MailboxAttrHasChildren) {
		t.Fatalf("after CREATE Work/2024/Q1: %v", got)
	}
	if err := c.Rename("Work", "Archive/Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	got = list()
	if _, ok := got["Archive/Work/2024/Q1"]; !ok {
		t.Fatalf("children not renamed: %v", got)
	}
	if _, ok := got["Work"]; ok {
		t.Fatalf("old name still listed: %v", got)
	}
	if err := c.Delete("Archive/Work/2024/Q1").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("INBOX").Wait(); err == nil {
		t.Error("DELETE INBOX succeeded")
	}
	if err := c.Create("bad//name", nil).Wait(); err == nil {
		t.Error("CREATE bad//name succeeded")
	}

	if err := c.Unsubscribe("Junk").Wait(); err != nil {
		t.Fatal(err)
	}
	subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range subs {
		if d.Mailbox == "Junk" {
			t.Error("Junk still subscribed")
		}
	}
}

func TestRenameInbox(t *testing.T) {
	e := newEnv(t)
	e.deliver("a")
	e.deliver("b")
	c := e.client(nil)
	if err := c.Rename("INBOX", "Old", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status("Old", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 2 {
		t.Fatalf("Old: %v %+v", err, st)
	}
	st, err = c.Status("INBOX", &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true}).Wait()
	if err != nil || *st.NumMessages != 0 || st.UIDValidity != e.inbox.UIDValidity || st.UIDNext != 3 {
		t.Fatalf("INBOX after rename: %v %+v", err, st)
	}
	// UIDs are never reused: the next delivery gets UID 3.
	e.deliver("c")
	msgs, _ := e.st.Messages(context.Background(), e.inbox.ID)
	if len(msgs) != 1 || msgs[0].UID != 3 {
		t.Fatalf("INBOX messages %+v", msgs)
	}
}

func TestStatus(t *testing.T) {
	e := newEnv(t)
	e.deliver("a")
	e.deliver("b")
	c := e.client(nil)
	c.Select("INBOX", nil).Wait()
	c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{`\seen`}}, nil).Close()
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true, NumUnseen: true, UIDNext: true, Size: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 2 || *st.NumUnseen != 1 || st.UIDNext != 3 || *st.Size == 0 {
		t.Fatalf("STATUS = %+v (unseen %d)", st, *st.NumUnseen)
	}
}
