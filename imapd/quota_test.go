package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailsuite/store"
)

func withQuota(l store.Limits) func(*envConfig) {
	return func(c *envConfig) { c.limits = l }
}

// usage is the user's stored bytes, read from the store.
func (e *testEnv) usage() store.Quota {
	e.t.Helper()
	q, err := e.st.UserQuota(context.Background(), e.userID)
	if err != nil {
		e.t.Fatal(err)
	}
	return q
}

func checkQuota(t *testing.T, got imapclient.QuotaData, storage, messages int64) {
	t.Helper()
	want := map[imap.QuotaResourceType]imapclient.QuotaResourceData{
		imap.QuotaResourceStorage: {Usage: storage, Limit: 10},
		imap.QuotaResourceMessage: {Usage: messages, Limit: 100},
	}
	if got.Root != "" || fmt.Sprint(got.Resources) != fmt.Sprint(want) {
		t.Errorf("QUOTA %q %v, want \"\" %v", got.Root, got.Resources, want)
	}
}

func TestGetQuota(t *testing.T) {
	e := newEnv(t, withPlaintext, withQuota(store.Limits{Storage: 10 << 10, Messages: 100}))
	for _, s := range []string{"a", "b", "c"} {
		e.deliver(s)
	}
	c := e.client(nil)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []imap.Cap{imap.CapQuota, "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"} {
		if !caps.Has(want) {
			t.Errorf("capability %s not advertised", want)
		}
	}
	kib := func() int64 { return (e.usage().Bytes + 1023) / 1024 }

	roots, err := c.GetQuotaRoot("INBOX").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) != 1 {
		t.Fatalf("GETQUOTAROOT INBOX: %d roots, want 1", len(roots))
	}
	checkQuota(t, roots[0], kib(), 3)

	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(1, 2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	q, err := c.GetQuota("").Wait()
	if err != nil {
		t.Fatal(err)
	}
	checkQuota(t, *q, kib(), 1)
	if e.usage().Bytes == 0 {
		t.Fatal("no usage left after expunging two of three")
	}

	if _, err := c.GetQuotaRoot("Nope").Wait(); err == nil {
		t.Error("GETQUOTAROOT of a missing mailbox succeeded")
	}
	if _, err := c.GetQuota("other").Wait(); err == nil {
		t.Error("GETQUOTA of an unknown root succeeded")
	}

	tc := e.dial()
	tc.login()
	if _, r := tc.cmd(`SETQUOTA "" (STORAGE 99999)`); !strings.HasPrefix(r, "NO [NOPERM]") {
		t.Errorf("SETQUOTA: %s, want NO [NOPERM]", r)
	}
	if _, r := tc.cmd("SETQUOTA {2+}\r\nxy (STORAGE 1)"); !strings.HasPrefix(r, "NO [NOPERM]") {
		t.Errorf("SETQUOTA with a literal root: %s, want NO [NOPERM]", r)
	}
	if _, r := tc.cmd("NOOP"); !strings.HasPrefix(r, "OK") {
		t.Errorf("NOOP after SETQUOTA: %s", r)
	}
}

// TestGetQuotaUnlimited: a user without limits has no quota root.
func TestGetQuotaUnlimited(t *testing.T) {
	e := newEnv(t, withPlaintext)
	tc := e.dial()
	tc.login()
	untagged, r := tc.cmd("GETQUOTAROOT INBOX")
	if !strings.HasPrefix(r, "OK") || len(untagged) != 1 || untagged[0] != "* QUOTAROOT INBOX" {
		t.Errorf("GETQUOTAROOT INBOX: %q %s, want one QUOTAROOT without roots", untagged, r)
	}
	if _, r := tc.cmd(`GETQUOTA ""`); !strings.HasPrefix(r, "NO") {
		t.Errorf(`GETQUOTA "": %s, want NO`, r)
	}
}

func TestAppendCopyOverQuota(t *testing.T) {
	e := newEnv(t, withPlaintext, withQuota(store.Limits{Storage: 2000}))
	tc := e.dial()
	tc.login()
	msg := func(n int) string {
		body := "Subject: x\r\n\r\n" + strings.Repeat("y", n-16) + "\r\n"
		return fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(body), body)
	}
	if _, r := tc.cmd("%s", msg(1200)); !strings.HasPrefix(r, "OK") {
		t.Fatalf("APPEND within quota: %s", r)
	}
	if _, r := tc.cmd("%s", msg(801)); !strings.HasPrefix(r, "NO [OVERQUOTA]") {
		t.Errorf("APPEND over quota: %s, want NO [OVERQUOTA]", r)
	}
	if q := e.usage(); q.Bytes != 1200 || q.Messages != 1 {
		t.Errorf("usage %+v after the refused APPEND", q)
	}
	tc.cmd("SELECT INBOX")
	if _, r := tc.cmd("COPY 1 Trash"); !strings.HasPrefix(r, "NO [OVERQUOTA]") {
		t.Errorf("COPY over quota: %s, want NO [OVERQUOTA]", r)
	}
	if _, r := tc.cmd("MOVE 1 Trash"); !strings.HasPrefix(r, "OK") {
		t.Errorf("MOVE (no change in usage): %s", r)
	}
	if _, r := tc.cmd("%s", msg(800)); !strings.HasPrefix(r, "OK") {
		t.Errorf("APPEND up to the quota: %s", r)
	}
	if !strings.Contains(e.log.String(), "OVERQUOTA") {
		t.Error("refusal not logged")
	}
}

func TestCreateLimit(t *testing.T) {
	e := newEnv(t, withPlaintext, withQuota(store.Limits{Mailboxes: 7})) // 5 default mailboxes
	tc := e.dial()
	tc.login()
	if _, r := tc.cmd("CREATE a"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("CREATE a: %s", r)
	}
	// b/c needs two more: b, its superior, is created, then b/c is refused.
	if _, r := tc.cmd("CREATE b/c"); !strings.HasPrefix(r, "NO [LIMIT]") {
		t.Errorf("CREATE b/c (two more): %s, want NO [LIMIT]", r)
	}
	for _, cmd := range []string{"CREATE c", "RENAME INBOX c"} {
		if _, r := tc.cmd("%s", cmd); !strings.HasPrefix(r, "NO [LIMIT]") {
			t.Errorf("%s at the limit: %s, want NO [LIMIT]", cmd, r)
		}
	}
	if _, r := tc.cmd("CREATE a"); !strings.HasPrefix(r, "NO [ALREADYEXISTS]") {
		t.Errorf("CREATE of an existing mailbox at the limit: %s", r)
	}
	if _, r := tc.cmd("DELETE a"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("DELETE a: %s", r)
	}
	if _, r := tc.cmd("CREATE c"); !strings.HasPrefix(r, "OK") {
		t.Errorf("CREATE after a DELETE: %s", r)
	}
}

func TestStoreKeywordLimit(t *testing.T) {
	e := newEnv(t, withPlaintext, withQuota(store.Limits{Keywords: 3}))
	e.deliver("a")
	e.deliver("b")
	tc := e.dial()
	tc.login()
	tc.cmd("SELECT INBOX")
	if _, r := tc.cmd("STORE 1 +FLAGS (k1 k2 k3)"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("STORE 3 keywords: %s", r)
	}
	if _, r := tc.cmd("STORE 2 +FLAGS (k4)"); !strings.HasPrefix(r, "NO [LIMIT]") {
		t.Errorf("4th keyword in the mailbox: %s, want NO [LIMIT]", r)
	}
	many := make([]string, 3000)
	for i := range many {
		many[i] = fmt.Sprintf("kw%d", i)
	}
	if _, r := tc.cmd("STORE 2 +FLAGS (%s)", strings.Join(many, " ")); !strings.HasPrefix(r, "NO [LIMIT]") {
		t.Errorf("3000 keywords: %s, want NO [LIMIT]", r)
	}
	if _, r := tc.cmd(`STORE 2 +FLAGS (\Seen K2)`); !strings.HasPrefix(r, "OK") {
		t.Errorf("system flag and a keyword in use: %s", r)
	}
	if _, r := tc.cmd("APPEND INBOX (k9) {3+}\r\nx\r\n"); !strings.HasPrefix(r, "NO [LIMIT]") {
		t.Errorf("APPEND with a 4th keyword: %s, want NO [LIMIT]", r)
	}
	msgs, err := e.st.Messages(context.Background(), e.inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || fmt.Sprint(msgs[1].Flags) != `[\Seen K2]` {
		t.Errorf("messages after the refusals: %+v", msgs)
	}
}

// TestQuotaBadInput: malformed QUOTA commands get BAD (or NO) and the
// connection keeps serving.
func TestQuotaBadInput(t *testing.T) {
	e := newEnv(t, withPlaintext, withQuota(store.Limits{Storage: 1 << 20}))
	tc := e.dial()
	if _, r := tc.cmd(`GETQUOTA ""`); !strings.HasPrefix(r, "BAD") && !strings.HasPrefix(r, "NO") {
		t.Errorf("GETQUOTA before login: %s", r)
	}
	tc = e.dial()
	tc.login()
	for _, cmd := range []string{
		"GETQUOTAROOT", "GETQUOTAROOT INBOX extra", "GETQUOTA", "GETQUOTA (x)",
		"SETQUOTA", `SETQUOTA ""`, `SETQUOTA "" STORAGE 1`, `SETQUOTA "" (STORAGE)`,
		`SETQUOTA "" (STORAGE -1)`, `SETQUOTA "" (STORAGE 1 MESSAGE`, `SETQUOTA "" ((`,
		"GETQUOTAROOT \"\xff\"", "GETQUOTA " + strings.Repeat("x", 5000),
	} {
		if _, r := tc.cmd("%s", cmd); !strings.HasPrefix(r, "BAD") && !strings.HasPrefix(r, "NO") {
			t.Errorf("%q: %s, want BAD or NO", cmd, r)
		}
	}
	if _, r := tc.cmd("GETQUOTAROOT INBOX"); !strings.HasPrefix(r, "OK") {
		t.Errorf("GETQUOTAROOT after the bad input: %s", r)
	}
}
