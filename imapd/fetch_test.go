package main

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestSelectAndFetch(t *testing.T) {
	e := newEnv(t)
	e.deliver("one")
	e.deliver("two")
	c := e.client(nil)
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 2 || sel.UIDValidity != e.inbox.UIDValidity || sel.UIDNext != 3 {
		t.Fatalf("SELECT = %+v", sel)
	}

	// PEEK does not set \Seen.
	hdr := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{
		Flags: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		RFC822Size: true, UID: true, BodySection: []*imap.FetchItemBodySection{hdr},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.UID != 1 || m.Envelope.Subject != "one" || len(m.Flags) != 1 || m.Flags[0] != `\Recent` {
		t.Fatalf("FETCH 1 = uid %d env %+v flags %v", m.UID, m.Envelope, m.Flags)
	}
	if got := string(m.FindBodySection(hdr)); got != "Subject: one\r\n\r\n" {
		t.Errorf("HEADER.FIELDS = %q", got)
	}
	if m.BodyStructure.MediaType() != "text/plain" {
		t.Errorf("BODYSTRUCTURE = %+v", m.BodyStructure)
	}

	// BODY[] sets \Seen and reports it.
	body := &imap.FetchItemBodySection{}
	msgs, err = c.Fetch(imap.SeqSetNum(2), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(msgs[0].FindBodySection(body)); got != string(testMessage("two")) {
		t.Errorf("BODY[] = %q", got)
	}
	msgs, _ = c.Fetch(imap.SeqSetNum(2), &imap.FetchOptions{Flags: true}).Collect()
	if len(msgs[0].Flags) != 2 || msgs[0].Flags[0] != imap.FlagSeen {
		t.Errorf("flags after BODY[] = %v", msgs[0].Flags)
	}

	// Partial fetch.
	part := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Offset: 6, Size: 3}, Peek: true}
	msgs, _ = c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{part}}).Collect()
	if got := string(msgs[0].FindBodySection(part)); got != "one" {
		t.Errorf("BODY.PEEK[TEXT]<6.3> = %q", got)
	}
}

func TestBadSequenceSets(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver("one")
	tc := e.dial()
	tc.login()
	tc.cmd("SELECT INBOX")
	for _, set := range []string{"*:1", "1:*", "4294967295", "2:5"} {
		if _, r := tc.cmd("FETCH %s (UID)", set); !strings.HasPrefix(r, "OK") {
			t.Errorf("FETCH %s: %s", set, r)
		}
	}
	for _, set := range []string{"0", "4294967296", "1:0:2", "-1"} {
		// go-imap answers some of these NO [SERVERBUG]: still a refusal.
		if _, r := tc.cmd("FETCH %s (UID)", set); !strings.HasPrefix(r, "BAD") && !strings.HasPrefix(r, "NO") {
			t.Errorf("FETCH %s: %s, want BAD or NO", set, r)
		}
	}
	// The session still works.
	if u, r := tc.cmd("UID FETCH 1:* (FLAGS)"); !strings.HasPrefix(r, "OK") || len(u) != 1 {
		t.Fatalf("after bad input: %q %s", u, r)
	}
}
