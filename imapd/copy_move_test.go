package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func TestCopyMoveExpunge(t *testing.T) {
	e := newEnv(t)
	for _, s := range []string{"a", "b", "c"} {
		e.deliver(s)
	}
	c := e.client(nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	cp, err := c.Copy(imap.SeqSetNum(1, 2), "Trash").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if cp.SourceUIDs.String() != "1:2" || cp.DestUIDs.String() != "1:2" {
		t.Fatalf("COPYUID %v -> %v", cp.SourceUIDs, cp.DestUIDs)
	}
	if _, err := c.Copy(imap.SeqSetNum(1), "Nope").Wait(); err == nil {
		t.Fatal("COPY to a missing mailbox succeeded")
	}
	mv, err := c.Move(imap.SeqSetNum(3), "Trash").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if mv.DestUIDs.String() != "3" || mv.SourceUIDs.String() != "3" {
		t.Fatalf("MOVE COPYUID %v -> %v", mv.SourceUIDs, mv.DestUIDs)
	}
	if mbox := c.Mailbox(); mbox.NumMessages != 2 {
		t.Fatalf("after MOVE, %d messages", mbox.NumMessages)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	seqs, err := c.Expunge().Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 1 || seqs[0] != 1 {
		t.Fatalf("EXPUNGE -> %v", seqs)
	}
	st, _ := c.Status("Trash", &imap.StatusOptions{NumMessages: true}).Wait()
	if *st.NumMessages != 3 {
		t.Fatalf("Trash has %d", *st.NumMessages)
	}
}

func TestAppend(t *testing.T) {
	e := newEnv(t)
	c := e.client(nil)
	msg := testMessage("appended")
	date := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	cmd := c.Append("Drafts", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDraft}, Time: date})
	cmd.Write(msg)
	cmd.Close()
	data, err := cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if data.UID != 1 {
		t.Fatalf("APPENDUID %+v", data)
	}
	if _, err := c.Select("Drafts", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// \Draft, and \Recent: this session is the first to see the message.
	body := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(msgs[0].FindBodySection(body), msg) || !msgs[0].InternalDate.Equal(date) || len(msgs[0].Flags) != 2 {
		t.Fatalf("appended message: %+v", msgs[0])
	}
	cmd = c.Append("Nope", int64(len(msg)), nil)
	cmd.Write(msg)
	cmd.Close()
	if _, err := cmd.Wait(); err == nil {
		t.Fatal("APPEND to a missing mailbox succeeded")
	}
}

func TestAppendTooBigRefusedBeforeRead(t *testing.T) {
	e := newEnv(t, withPlaintext)
	tc := e.dial()
	tc.login()
	// A literal over the limit (1 MiB here) gets NO before any data is sent.
	_, r := tc.cmd("APPEND INBOX {%d}", 2<<20)
	if r[:2] != "NO" {
		t.Fatalf("huge APPEND: %s", r)
	}
	if _, r := tc.cmd("NOOP"); r[:2] != "OK" {
		t.Fatalf("after refused APPEND: %s", r)
	}
}
