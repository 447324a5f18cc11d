package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Regression tests of the conformance issue, one per defect, over real
// sockets.

// readAnswer reads one command's answer, literals included, and returns
// the untagged responses (literal text inline) and the tagged status.
func (tc *textConn) readAnswer(tag string) ([]string, string) {
	tc.t.Helper()
	var untagged []string
	for {
		l := tc.line()
		for {
			n := literalSize(l)
			if n == 0 {
				break
			}
			buf := make([]byte, n)
			tc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(tc.r, buf); err != nil {
				tc.t.Fatal(err)
			}
			l += string(buf) + tc.line()
		}
		if strings.HasPrefix(l, tag+" ") {
			return untagged, strings.TrimPrefix(l, tag+" ")
		}
		untagged = append(untagged, l)
	}
}

func (e *testEnv) appendN(t *testing.T, n int, flags []string, body func(i int) []byte) []uint32 {
	t.Helper()
	uids := make([]uint32, n)
	for i := range uids {
		uid, err := e.st.Append(context.Background(), e.inbox.ID, flags, time.Now(), body(i))
		if err != nil {
			t.Fatal(err)
		}
		uids[i] = uid
	}
	return uids
}

// Defect 1: a message expunged by another process while FETCH writes the
// answer is either served whole or left out with NO [EXPUNGEISSUED],
// never with an empty ENVELOPE or body.
func TestFetchExpungedMeanwhile(t *testing.T) {
	e := newEnv(t, withPlaintext)
	pad := strings.Repeat("x", 76) + "\r\n"
	const n = 150
	uids := e.appendN(t, n, nil, func(i int) []byte {
		return append(testMessage(fmt.Sprintf("m%d", i)), strings.Repeat(pad, 400)...) // ~30 KB
	})
	tc := e.dial()
	tc.login()
	tc.cmd("SELECT INBOX")
	tc.send("f1 FETCH 1:* (ENVELOPE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[])\r\n")
	first := tc.line() // the server is now writing; the socket fills
	if err := e.st.Expunge(context.Background(), e.inbox.ID, uids); err != nil {
		t.Fatal(err)
	}
	for n := literalSize(first); n > 0; n = literalSize(first) {
		buf := make([]byte, n)
		io.ReadFull(tc.r, buf)
		first += string(buf) + tc.line()
	}
	rest, status := tc.readAnswer("f1")
	subject := regexp.MustCompile(`^\* \d+ FETCH \(UID (\d+) .*ENVELOPE \("[^"]*" "(m\d+)"`)
	for _, l := range append([]string{first}, rest...) {
		if !strings.Contains(l, " FETCH ") {
			continue
		}
		if strings.Contains(l, "ENVELOPE (NIL NIL") || strings.Contains(l, "{0}") || !subject.MatchString(l) {
			t.Fatalf("invented content: %.200q", l)
		}
	}
	if !strings.HasPrefix(status, "OK") && !strings.HasPrefix(status, "NO [EXPUNGEISSUED]") {
		t.Fatalf("FETCH: %s", status)
	}
}

// Defect 2: a keyword new to the mailbox is announced by FLAGS and
// PERMANENTFLAGS, to the session that set it and to the others, before
// any FETCH names it; NIL is not a flag.
func TestKeywordAnnouncedBeforeFetch(t *testing.T) {
	e := newEnv(t, withPlaintext)
	a, b := e.twoSelected()
	untagged, r := b.cmd(`STORE 1 +FLAGS ($keyword1)`)
	checkAnnounced(t, "STORE", untagged, r)
	untagged, r = a.cmd("NOOP")
	checkAnnounced(t, "other session", untagged, r)
	// .SILENT too: the next FETCH must not be the first to name it.
	silent, _ := b.cmd(`STORE 1 +FLAGS.SILENT ($second)`)
	untagged, r = b.cmd("FETCH 1 (FLAGS)")
	all := strings.Join(append(silent, untagged...), "\n")
	if i := strings.Index(all, "* FLAGS ("); i < 0 || !strings.Contains(all[i:], "$second") || i > strings.Index(all, " FETCH ") {
		t.Errorf("after STORE .SILENT, FETCH: %q %s", all, r)
	}
	if _, r := b.cmd(`STORE 1 +FLAGS (NIL)`); !strings.HasPrefix(r, "BAD") {
		t.Errorf("STORE +FLAGS (NIL): %s", r)
	}
	untagged, _ = b.cmd("FETCH 1 (FLAGS)")
	if strings.Contains(strings.Join(untagged, " "), "NIL") {
		t.Errorf("NIL became a keyword: %q", untagged)
	}
}

func checkAnnounced(t *testing.T, who string, untagged []string, r string) {
	t.Helper()
	flags, perm, fetch := -1, -1, -1
	for i, l := range untagged {
		switch {
		case strings.HasPrefix(l, "* FLAGS (") && strings.Contains(l, "$keyword1"):
			flags = i
		case strings.HasPrefix(l, "* OK [PERMANENTFLAGS (") && strings.Contains(l, "$keyword1") && strings.Contains(l, `\*`):
			perm = i
		case strings.Contains(l, " FETCH ") && strings.Contains(l, "$keyword1"):
			fetch = i
		}
	}
	if flags < 0 || perm < 0 || fetch < 0 || flags > fetch || perm > fetch {
		t.Errorf("%s: keyword not announced before FETCH: %q %s", who, untagged, r)
	}
}

// Defect 3: \Recent. The first session to select gets the new messages
// as recent, the second does not; a message arriving later is recent in
// the session that learns of it first; SEARCH RECENT/NEW/OLD and STATUS
// RECENT agree.
func TestRecent(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver("one")
	e.deliver("two")
	a, b, c := e.dial(), e.dial(), e.dial()
	a.login()
	b.login()
	c.login()
	if untagged, _ := c.cmd("STATUS INBOX (RECENT)"); !contains(untagged, "* STATUS INBOX (RECENT 2)") {
		t.Errorf("STATUS before SELECT: %q", untagged)
	}
	if untagged, _ := c.cmd("EXAMINE INBOX"); !contains(untagged, "* 2 RECENT") {
		t.Errorf("EXAMINE: %q", untagged)
	}
	c.cmd("CLOSE")
	if untagged, _ := a.cmd("SELECT INBOX"); !contains(untagged, "* 2 RECENT") {
		t.Errorf("first SELECT: %q", untagged)
	}
	if untagged, _ := b.cmd("SELECT INBOX"); !contains(untagged, "* 0 RECENT") {
		t.Errorf("second SELECT: %q", untagged)
	}
	if untagged, _ := a.cmd("FETCH 1 (FLAGS)"); !contains(untagged, `* 1 FETCH (UID 1 FLAGS (\Recent))`) {
		t.Errorf("FETCH FLAGS in the first session: %q", untagged)
	}
	if untagged, _ := b.cmd("FETCH 1 (FLAGS)"); !contains(untagged, `* 1 FETCH (UID 1 FLAGS ())`) {
		t.Errorf("FETCH FLAGS in the second session: %q", untagged)
	}
	// A flag change made elsewhere shows \Recent to the session it is
	// recent in, only.
	b.cmd(`STORE 2 +FLAGS.SILENT (\Flagged)`)
	if untagged, _ := a.cmd("NOOP"); !contains(untagged, `* 2 FETCH (UID 2 FLAGS (\Flagged \Recent))`) {
		t.Errorf("flag update in the first session: %q", untagged)
	}
	e.deliver("three")
	if untagged, _ := b.cmd("NOOP"); !contains(untagged, "* 3 EXISTS") || !contains(untagged, "* 1 RECENT") {
		t.Errorf("new mail, first to learn: %q", untagged)
	}
	if untagged, _ := a.cmd("NOOP"); !contains(untagged, "* 3 EXISTS") || contains(untagged, "* 3 RECENT") {
		t.Errorf("new mail, second to learn: %q", untagged)
	}
	a.cmd(`STORE 1 +FLAGS.SILENT (\Seen)`)
	for _, q := range []struct {
		sess      *textConn
		cmd, want string
	}{
		{a, "SEARCH RECENT", "* SEARCH 1 2"},
		{a, "SEARCH NEW", "* SEARCH 2"},
		{a, "SEARCH OLD", "* SEARCH 3"},
		{b, "SEARCH RECENT", "* SEARCH 3"},
		{b, "SEARCH OLD", "* SEARCH 1 2"},
		{c, "STATUS INBOX (RECENT)", "* STATUS INBOX (RECENT 0)"},
	} {
		if untagged, _ := q.sess.cmd("%s", q.cmd); !contains(untagged, q.want) {
			t.Errorf("%s: %q, want %s", q.cmd, untagged, q.want)
		}
	}
}

// twoSelected delivers one message and returns two sessions that have
// INBOX selected, the first one first.
func (e *testEnv) twoSelected() (a, b *textConn) {
	e.deliver("one")
	a, b = e.dial(), e.dial()
	a.login()
	b.login()
	a.cmd("SELECT INBOX")
	b.cmd("SELECT INBOX")
	return a, b
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// Defect 4: LIST with the whole atom set as pattern, superior names that
// are not mailboxes, subscriptions of deleted mailboxes, RECURSIVEMATCH.
func TestListConformance(t *testing.T) {
	e := newEnv(t, withPlaintext)
	tc := e.dial()
	tc.login()
	if _, r := tc.cmd("LIST \"\" \"!#$&'+,-.0123456789:;<=>?@^_`|}%%*\""); !strings.HasPrefix(r, "OK") {
		t.Errorf("LIST with the atom set: %s", r)
	}
	tc.cmd("CREATE a/b/c")
	tc.cmd("SUBSCRIBE a/b/c")
	tc.cmd("DELETE a/b")
	tc.cmd("DELETE a")
	for _, q := range []struct{ cmd, want string }{
		{`LIST "" a`, `* LIST (\Noselect \HasChildren) "/" "a"`},
		{`LIST "" % RETURN (CHILDREN)`, `* LIST (\NonExistent \HasChildren) "/" "a"`},
		{`LSUB "" a`, `* LSUB (\Noselect) "/" "a"`},
		{`LIST (SUBSCRIBED RECURSIVEMATCH) "" a`, `* LIST (\NonExistent) "/" "a" (CHILDINFO ("SUBSCRIBED"))`},
		{`LIST "" a/b/c RETURN (CHILDREN SUBSCRIBED)`, `* LIST (\Subscribed \HasNoChildren) "/" "a/b/c"`},
	} {
		if untagged, r := tc.cmd("%s", q.cmd); !contains(untagged, q.want) {
			t.Errorf("%s: %q %s, want %s", q.cmd, untagged, r, q.want)
		}
	}
	tc.cmd("DELETE a/b/c")
	if untagged, _ := tc.cmd(`LIST (SUBSCRIBED) "" a/b/c`); !contains(untagged, `* LIST (\Subscribed \NonExistent) "/" "a/b/c"`) {
		t.Errorf("deleted subscribed mailbox: %q", untagged)
	}
	if untagged, _ := tc.cmd(`LIST "" *`); strings.Contains(strings.Join(untagged, " "), `"a/b/c"`) {
		t.Errorf("deleted mailbox still listed: %q", untagged)
	}
}

// Defect 5: COPY and MOVE into the selected mailbox.
func TestCopyMoveIntoSelected(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver("one")
	e.deliver("two")
	tc := e.dial()
	tc.login()
	tc.cmd("SELECT INBOX")
	uv := e.inbox.UIDValidity
	untagged, r := tc.cmd("COPY 1 INBOX")
	if r != fmt.Sprintf("OK [COPYUID %d 1 3] COPY completed", uv) || !contains(untagged, "* 3 EXISTS") {
		t.Errorf("COPY into the selected mailbox: %q %s", untagged, r)
	}
	untagged, r = tc.cmd("MOVE 2 INBOX")
	if !contains(untagged, fmt.Sprintf("* OK [COPYUID %d 2 4] COPY completed", uv)) || !contains(untagged, "* 2 EXPUNGE") ||
		!strings.HasPrefix(r, "OK") {
		t.Errorf("MOVE into the selected mailbox: %q %s", untagged, r)
	}
	if untagged, _ := tc.cmd("UID FETCH 1:* (UID)"); strings.Join(untagged, "|") !=
		"* 1 FETCH (UID 1)|* 2 FETCH (UID 3)|* 3 FETCH (UID 4)" {
		t.Errorf("after: %q", untagged)
	}
}

// Defect 6: CLOSE after EXAMINE answers OK and expunges nothing.
func TestCloseAfterExamine(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.appendN(t, 1, []string{`\Deleted`}, func(int) []byte { return testMessage("one") })
	tc := e.dial()
	tc.login()
	tc.cmd("EXAMINE INBOX")
	if _, r := tc.cmd("CLOSE"); !strings.HasPrefix(r, "OK") {
		t.Errorf("CLOSE after EXAMINE: %s", r)
	}
	if st, err := e.st.Status(context.Background(), e.inbox.ID); err != nil || st.Messages != 1 {
		t.Errorf("after CLOSE: %+v %v", st, err)
	}
}

// Defect 8: SEARCH FROM/TO/CC match the header text, in groups, display
// names and encoded words included, case-insensitively.
func TestSearchAddressHeaders(t *testing.T) {
	e := newEnv(t, withPlaintext)
	msgs := []string{
		"From: Friends: user-from@domain.org, other@domain.org;\r\nTo: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <jm@example.org>\r\nSubject: a\r\n\r\nx\r\n",
		"From: \"Plain Name\" <plain@example.org>\r\nCc: undisclosed-recipients:;\r\nSubject: b\r\n\r\nx\r\n",
		"From: broken <<user-from@domain.org>\r\nTo: Carol <carol@example.net>\r\n\r\nx\r\n",
		"Subject: odd\r\nnot a header line\r\nFrom: group:user-from@domain.org;\r\n\r\nx\r\n",
		"Content-Type: text/plain; charset=x-unknown\r\nFrom: =?x-unknown?q?who?= <user-from@domain.org>\r\n\r\nx\r\n",
	}
	e.appendN(t, len(msgs), nil, func(i int) []byte { return []byte(msgs[i]) })
	tc := e.dial()
	tc.login()
	tc.cmd("SELECT INBOX")
	for _, q := range []struct{ cmd, want string }{
		{"SEARCH FROM user-from@domain.org", "* SEARCH 1 3 4 5"},
		{"SEARCH FROM USER-FROM@DOMAIN.ORG", "* SEARCH 1 3 4 5"},
		{"SEARCH FROM friends", "* SEARCH 1"},
		{"SEARCH FROM \"plain name\"", "* SEARCH 2"},
		{"SEARCH CHARSET UTF-8 TO {7+}\r\nmüller", "* SEARCH 1"},
		{"SEARCH CC undisclosed", "* SEARCH 2"},
		{"SEARCH TO carol", "* SEARCH 3"},
	} {
		if untagged, r := tc.cmd("%s", q.cmd); !contains(untagged, q.want) {
			t.Errorf("%s: %q %s, want %s", q.cmd, untagged, r, q.want)
		}
	}
}

// Defect 10: EXPUNGE racing an undelete. A message whose STORE -FLAGS
// (\Deleted) answer shows it existing without \Deleted was undeleted
// before any expunge could remove it: it must survive.
func TestExpungeUndeleteRace(t *testing.T) {
	e := newEnv(t, withPlaintext)
	a, b := e.dial(), e.dial()
	a.login()
	b.login()
	a.cmd("SELECT INBOX")
	b.cmd("SELECT INBOX")
	const rounds = 150
	lost := 0
	for i := 0; i < rounds; i++ {
		uid := e.appendN(t, 1, []string{`\Deleted`}, func(int) []byte { return testMessage("r") })[0]
		a.cmd("NOOP")
		b.cmd("NOOP")
		var wg sync.WaitGroup
		var storeAnswer []string
		wg.Add(2)
		go func() {
			defer wg.Done()
			storeAnswer, _ = a.cmd(`UID STORE %d -FLAGS (\Deleted)`, uid)
		}()
		go func() {
			defer wg.Done()
			b.cmd("EXPUNGE")
		}()
		wg.Wait()
		undeleted := false
		for _, l := range storeAnswer {
			if strings.Contains(l, fmt.Sprintf("(UID %d FLAGS (", uid)) && !strings.Contains(l, `\Deleted`) {
				undeleted = true
			}
		}
		msgs, err := e.st.MessagesIn(context.Background(), e.inbox.ID, []uint32{uid})
		if err != nil {
			t.Fatal(err)
		}
		if undeleted && len(msgs) == 0 {
			lost++
		}
		if len(msgs) > 0 { // clean up for the next round
			e.st.Expunge(context.Background(), e.inbox.ID, []uint32{uid})
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d undeleted messages expunged", lost, rounds)
	}
}
