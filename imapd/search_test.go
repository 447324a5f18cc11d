package main

import (
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestSearch(t *testing.T) {
	e := newEnv(t)
	for _, s := range []string{"apple", "banana", "cherry"} {
		e.deliver(s)
	}
	c := e.client(nil)
	c.Select("INBOX", nil).Wait()
	c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close()
	for _, tc := range []struct {
		name string
		c    imap.SearchCriteria
		want string
	}{
		{"all", imap.SearchCriteria{}, "1:3"},
		{"flagged", imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, "2"},
		{"unflagged", imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagFlagged}}, "1,3"},
		{"subject", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "CHERRY"}}}, "3"},
		{"body", imap.SearchCriteria{Body: []string{"hello banana"}}, "2"},
		{"text", imap.SearchCriteria{Text: []string{"bob@example.org"}}, "1:3"},
		{"or", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Body: []string{"apple"}}, {Body: []string{"cherry"}}}}}, "1,3"},
		{"not", imap.SearchCriteria{Not: []imap.SearchCriteria{{Body: []string{"apple"}}}}, "2:3"},
		{"larger", imap.SearchCriteria{Larger: 1 << 20}, ""},
		{"uid", imap.SearchCriteria{UID: []imap.UIDSet{{{Start: 2, Stop: 0}}}}, "2:3"},
	} {
		data, err := c.UIDSearch(&tc.c, nil).Wait()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := ""
		if data.All != nil {
			got = data.All.String()
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
