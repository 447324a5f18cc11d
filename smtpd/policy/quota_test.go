package policy

import (
	"strings"
	"testing"

	"mailsuite/store"
)

func TestDecideQuota(t *testing.T) {
	free := store.Quota{Bytes: 100, StorageLimit: 1000}
	unlimited := store.Quota{Bytes: 1 << 40}
	full := store.Quota{Bytes: 1000, StorageLimit: 1000}
	over := store.Quota{Bytes: 1200, StorageLimit: 1000}
	manyMsgs := store.Quota{Messages: 5, MessageLimit: 5}
	for _, tc := range []struct {
		name     string
		users    []store.Quota
		declared int64
		refused  bool
	}{
		{"no local user", nil, 0, false},
		{"room", []store.Quota{free}, 0, false},
		{"unlimited", []store.Quota{unlimited}, 1 << 30, false},
		{"full", []store.Quota{full}, 0, true},
		{"over", []store.Quota{over}, 0, true},
		{"message count at the limit", []store.Quota{manyMsgs}, 0, true},
		{"SIZE fits exactly", []store.Quota{free}, 900, false},
		{"SIZE does not fit", []store.Quota{free}, 901, true},
		{"one alias member full", []store.Quota{free, full}, 0, true},
	} {
		if serr := DecideRcptQuota("postmaster@example.com", tc.users, tc.declared); serr != nil {
			t.Errorf("RCPT postmaster@ %s: %v, want it accepted", tc.name, serr)
		}
		serr := DecideRcptQuota("a@example.com", tc.users, tc.declared)
		if (serr != nil) != tc.refused {
			t.Errorf("RCPT %s: %v, refused want %v", tc.name, serr, tc.refused)
		}
		if serr != nil && (serr.Code != 452 || serr.EnhancedCode != [3]int{4, 2, 2} || !strings.Contains(serr.Message, "a@example.com")) {
			t.Errorf("RCPT %s: reply %d %v %s", tc.name, serr.Code, serr.EnhancedCode, serr.Message)
		}
	}
	for _, tc := range []struct {
		name    string
		users   []store.Quota
		remote  bool
		size    int64
		refused bool
	}{
		{"remote only", nil, true, 10, false},
		{"fits", []store.Quota{free}, false, 900, false},
		{"fits none", []store.Quota{free}, false, 901, true},
		{"fits none, remote too", []store.Quota{free}, true, 901, false},
		{"fits one of two", []store.Quota{free, {Bytes: 950, StorageLimit: 1000}}, false, 500, false},
		{"fits none of two", []store.Quota{free, full}, false, 901, true},
		{"unlimited", []store.Quota{unlimited}, false, 1 << 30, false},
	} {
		serr := DecideDataQuota(tc.users, tc.remote, tc.size)
		if (serr != nil) != tc.refused {
			t.Errorf("DATA %s: %v, refused want %v", tc.name, serr, tc.refused)
		}
		if serr != nil && (serr.Code != 452 || serr.EnhancedCode != [3]int{4, 2, 2}) {
			t.Errorf("DATA %s: reply %d %v", tc.name, serr.Code, serr.EnhancedCode)
		}
	}
}
