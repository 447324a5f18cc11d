package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailsuite/store"
)

// FETCH and EXPUNGE answer from the mailbox's view after a sync: a flag
// change another process committed just before the command is in the
// answer (not only in a later update), and EXPUNGE removes what another
// process marked \Deleted and keeps what it unmarked.
func TestViewFollowsOtherProcess(t *testing.T) {
	e := newEnv(t, withPlaintext)
	for _, s := range []string{"one", "two", "three"} {
		e.deliver(s)
	}
	other, err := store.Open(e.dbPath) // another process's handle
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	tc := e.dial()
	tc.login()
	if _, r := tc.cmd("SELECT INBOX"); !strings.HasPrefix(r, "OK") {
		t.Fatal(r)
	}
	if _, r := tc.cmd(`STORE 1 +FLAGS.SILENT (\Deleted)`); !strings.HasPrefix(r, "OK") {
		t.Fatal(r)
	}
	if err := other.StoreFlags(ctx, e.inbox.ID, []uint32{1}, store.FlagsDel, []string{`\Deleted`}); err != nil {
		t.Fatal(err)
	}
	if err := other.StoreFlags(ctx, e.inbox.ID, []uint32{2}, store.FlagsAdd, []string{`\Deleted`}); err != nil {
		t.Fatal(err)
	}
	if err := other.StoreFlags(ctx, e.inbox.ID, []uint32{3}, store.FlagsAdd, []string{`\Flagged`}); err != nil {
		t.Fatal(err)
	}
	untagged, r := tc.cmd("FETCH 1:3 (FLAGS)")
	if !strings.HasPrefix(r, "OK") {
		t.Fatal(r)
	}
	want := []string{`* 1 FETCH (UID 1 FLAGS (\Recent))`,
		`* 2 FETCH (UID 2 FLAGS (\Deleted \Recent))`, `* 3 FETCH (UID 3 FLAGS (\Flagged \Recent))`}
	if !slices.Equal(untagged, want) { // the current flags, once each
		t.Errorf("FETCH answered %q, want %q", untagged, want)
	}
	untagged, r = tc.cmd("EXPUNGE")
	if !strings.HasPrefix(r, "OK") {
		t.Fatal(r)
	}
	var expunged []string
	for _, l := range untagged {
		if strings.HasSuffix(l, " EXPUNGE") {
			expunged = append(expunged, l)
		}
	}
	if !slices.Equal(expunged, []string{"* 2 EXPUNGE"}) {
		t.Errorf("EXPUNGE answered %q, want only * 2 EXPUNGE", untagged)
	}
	if uids := e.inboxUIDs(t)(); !slices.Equal(uids, []uint32{1, 3}) {
		t.Errorf("store keeps %v, want [1 3]", uids)
	}
	// A command that synced skips the sync after it; the next one does
	// not: NOOP reports what arrived since.
	if _, r := tc.cmd("FETCH 1 (FLAGS)"); !strings.HasPrefix(r, "OK") {
		t.Fatal(r)
	}
	if err := other.Accept(ctx, store.Envelope{From: "bob@example.org", Local: []int64{e.userID}}, testMessage("four")); err != nil {
		t.Fatal(err)
	}
	if untagged, r = tc.cmd("NOOP"); !slices.Contains(untagged, "* 3 EXISTS") {
		t.Errorf("NOOP answered %q %s, want * 3 EXISTS", untagged, r)
	}
}

// Criteria that name messages by number alone are answered from the view;
// any other test reads the store.
func TestOnlyNumbers(t *testing.T) {
	seqs := []imap.SeqSet{{{Start: 1, Stop: 3}}}
	for _, tc := range []struct {
		c    imap.SearchCriteria
		want bool
	}{
		{imap.SearchCriteria{}, true}, // ALL
		{imap.SearchCriteria{SeqNum: seqs, UID: []imap.UIDSet{{{Start: 2, Stop: 0}}}}, true},
		{imap.SearchCriteria{Not: []imap.SearchCriteria{{SeqNum: seqs}}}, true},
		{imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{SeqNum: seqs}, {}}}}, true},
		{imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, false},
		{imap.SearchCriteria{Larger: 10}, false},
		{imap.SearchCriteria{ModSeq: &imap.SearchCriteriaModSeq{ModSeq: 1}}, false},
		{imap.SearchCriteria{Not: []imap.SearchCriteria{{Body: []string{"x"}}}}, false},
		{imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{SeqNum: seqs}, {Since: time.Now()}}}}, false},
	} {
		if got := onlyNumbers(&tc.c); got != tc.want {
			t.Errorf("onlyNumbers(%+v) = %v, want %v", tc.c, got, tc.want)
		}
	}
}
