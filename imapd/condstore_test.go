package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mailsuite/store"
)

// CONDSTORE and QRESYNC (RFC 7162) over real sockets. Each test drives one
// or more raw connections and checks the exact responses.

// condConn logs in on a raw connection and enables what is given (none,
// CONDSTORE or QRESYNC).
func (e *testEnv) condConn(enable string) *textConn {
	e.t.Helper()
	tc := e.dial()
	tc.login()
	if enable != "" {
		untagged, r := tc.cmd("ENABLE %s", enable)
		if !strings.HasPrefix(r, "OK") || !slices1(untagged, "* ENABLED "+enable) {
			e.t.Fatalf("ENABLE %s: %v %s", enable, untagged, r)
		}
	}
	return tc
}

// slices1 reports whether lines holds exactly one line equal to want.
func slices1(lines []string, want string) bool {
	n := 0
	for _, l := range lines {
		if l == want {
			n++
		}
	}
	return n == 1
}

// mustOK runs a command that must succeed and returns its untagged lines.
func (tc *textConn) mustOK(format string, args ...any) []string {
	tc.t.Helper()
	untagged, r := tc.cmd(format, args...)
	if !strings.HasPrefix(r, "OK") {
		tc.t.Fatalf("%s: %s (untagged %q)", strings.SplitN(format, " ", 2)[0], r, untagged)
	}
	return untagged
}

var highestRe = regexp.MustCompile(`HIGHESTMODSEQ (\d+)`)

// highestIn returns the HIGHESTMODSEQ in lines, or 0.
func highestIn(lines []string) uint64 {
	for _, l := range lines {
		if m := highestRe.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			return n
		}
	}
	return 0
}

func (tc *textConn) statusHighest() uint64 {
	tc.t.Helper()
	h := highestIn(tc.mustOK("STATUS INBOX (HIGHESTMODSEQ)"))
	if h == 0 {
		tc.t.Fatal("STATUS gave no HIGHESTMODSEQ")
	}
	return h
}

var modseqRe = regexp.MustCompile(`MODSEQ \((\d+)\)`)

func modseqOf(line string) uint64 {
	m := modseqRe.FindStringSubmatch(line)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

// fetchLines keeps the FETCH responses of lines, each once: the watcher
// may also push a session's own flag change back to it, an identical
// FETCH that RFC 3501 allows.
func fetchLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.Contains(l, " FETCH (") && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

func TestCondStoreAdvertisedAndEnabled(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver("a")
	tc := e.condConn("")
	caps := strings.Join(tc.mustOK("CAPABILITY"), " ")
	for _, c := range []string{"CONDSTORE", "QRESYNC", "UNSELECT"} {
		if !strings.Contains(caps, " "+c) {
			t.Errorf("CAPABILITY lacks %s: %s", c, caps)
		}
	}
	// Without CONDSTORE enabled, SELECT says nothing of mod-sequences.
	if h := highestIn(tc.mustOK("SELECT INBOX")); h != 0 {
		t.Fatalf("HIGHESTMODSEQ %d before CONDSTORE was enabled", h)
	}
	// SELECT (CONDSTORE) enables it.
	untagged := tc.mustOK("SELECT INBOX (CONDSTORE)")
	if highestIn(untagged) == 0 {
		t.Fatalf("SELECT (CONDSTORE): no HIGHESTMODSEQ in %q", untagged)
	}
	// STATUS (HIGHESTMODSEQ) enables it too, on another connection.
	other := e.condConn("")
	if h := other.statusHighest(); h < 2 {
		t.Fatalf("HIGHESTMODSEQ %d after a delivery", h)
	}
	if h := highestIn(other.mustOK("EXAMINE INBOX")); h == 0 {
		t.Fatal("EXAMINE after STATUS (HIGHESTMODSEQ): no HIGHESTMODSEQ")
	}
	// ENABLE QRESYNC also enables CONDSTORE.
	q := e.condConn("QRESYNC")
	if h := highestIn(q.mustOK("SELECT INBOX")); h == 0 {
		t.Fatal("SELECT after ENABLE QRESYNC: no HIGHESTMODSEQ")
	}
	// A FETCH with MODSEQ enables it in the selected state, and tells the
	// HIGHESTMODSEQ the SELECT did not.
	f := e.condConn("")
	f.mustOK("SELECT INBOX")
	untagged = f.mustOK("FETCH 1 (MODSEQ)")
	lines := fetchLines(untagged)
	if len(lines) != 1 || modseqOf(lines[0]) == 0 || highestIn(untagged) < modseqOf(lines[0]) {
		t.Fatalf("FETCH 1 (MODSEQ): %q", untagged)
	}
	// Once enabled, a body fetch that sets \Seen tells the new MODSEQ.
	before := modseqOf(lines[0])
	lines = fetchLines(f.mustOK("FETCH 1 (BODY[TEXT])"))
	if len(lines) == 0 || !strings.Contains(lines[0], `FLAGS (\Seen)`) || modseqOf(lines[0]) <= before {
		t.Fatalf("FETCH 1 (BODY[TEXT]) with CONDSTORE enabled: %q", lines)
	}
	// ENABLE CONDSTORE with a mailbox selected tells its HIGHESTMODSEQ.
	g := e.condConn("")
	g.mustOK("SELECT INBOX")
	untagged = g.mustOK("ENABLE CONDSTORE")
	if !slices1(untagged, "* ENABLED CONDSTORE") || highestIn(untagged) == 0 {
		t.Fatalf("ENABLE CONDSTORE while selected: %q", untagged)
	}
	if untagged = g.mustOK("ENABLE CONDSTORE"); highestIn(untagged) != 0 {
		t.Fatalf("HIGHESTMODSEQ told twice: %q", untagged)
	}
}

// FETCH (CHANGEDSINCE m) answers only the messages changed after m, with
// their MODSEQ, in both sequence and UID forms.
func TestFetchChangedSince(t *testing.T) {
	e := newEnv(t, withPlaintext)
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		e.deliver(s)
	}
	tc := e.condConn("CONDSTORE")
	h := highestIn(tc.mustOK("SELECT INBOX"))
	other := e.condConn("")
	other.mustOK("SELECT INBOX")
	other.mustOK(`UID STORE 2,4 +FLAGS (\Seen)`)
	tc.mustOK("NOOP") // take the pushed updates
	lines := fetchLines(tc.mustOK("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)", h))
	// \Recent: this session selected first, the messages are recent here.
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent) MODSEQ (") ||
		!strings.HasPrefix(lines[1], "* 4 FETCH (UID 4 FLAGS (\\Seen \\Recent) MODSEQ (") {
		t.Fatalf("UID FETCH CHANGEDSINCE %d: %q", h, lines)
	}
	if modseqOf(lines[0]) <= h || modseqOf(lines[1]) <= modseqOf(lines[0]) {
		t.Fatalf("mod-sequences not above %d and growing: %q", h, lines)
	}
	// The set still applies: only message 4 is in 3:5.
	lines = fetchLines(tc.mustOK("FETCH 3:* (UID) (CHANGEDSINCE %d)", h))
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "* 4 FETCH (UID 4 MODSEQ (") {
		t.Fatalf("FETCH 3:* CHANGEDSINCE: %q", lines)
	}
	// "$" names the saved search result, empty here: no message.
	tc.mustOK("SEARCH RETURN (SAVE) SUBJECT nothing-matches")
	if lines := fetchLines(tc.mustOK("UID FETCH $ (FLAGS) (CHANGEDSINCE %d)", h)); len(lines) != 0 {
		t.Fatalf("UID FETCH $ with an empty result: %q", lines)
	}
	tc.mustOK("SEARCH RETURN (SAVE) SEEN")
	if lines := fetchLines(tc.mustOK("FETCH $ (FLAGS) (CHANGEDSINCE %d)", h)); len(lines) != 2 {
		t.Fatalf("FETCH $ with the changed messages saved: %q", lines)
	}
	// Nothing changed after the latest mod-sequence.
	if lines := fetchLines(tc.mustOK("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)", modseqOf(lines[0]))); len(lines) != 0 {
		t.Fatalf("changes after the latest: %q", lines)
	}
	// MODSEQ alone is every message's, and so is CHANGEDSINCE 0 (outside
	// the RFC's grammar, taken as Dovecot takes it).
	if lines := fetchLines(tc.mustOK("FETCH 1:* (MODSEQ)")); len(lines) != 5 || modseqOf(lines[4]) == 0 {
		t.Fatalf("FETCH 1:* (MODSEQ): %q", lines)
	}
	if lines := fetchLines(tc.mustOK("FETCH 1:* (FLAGS) (CHANGEDSINCE 0)")); len(lines) != 5 {
		t.Fatalf("FETCH 1:* (FLAGS) (CHANGEDSINCE 0): %q", lines)
	}
}

// STORE (UNCHANGEDSINCE m) stores the messages unchanged since m and names
// the others in OK [MODIFIED ...], by sequence number or by UID.
func TestStoreUnchangedSince(t *testing.T) {
	e := newEnv(t, withPlaintext)
	for _, s := range []string{"a", "b", "c"} {
		e.deliver(s)
	}
	tc := e.condConn("")
	h := highestIn(tc.mustOK("SELECT INBOX (CONDSTORE)"))
	other := e.condConn("")
	other.mustOK("SELECT INBOX")
	other.mustOK(`STORE 1 +FLAGS ($Junk)`)

	untagged, r := tc.cmd(`STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\Flagged)`, h)
	if r != "OK [MODIFIED 1] Conditional STORE failed for some messages" {
		t.Fatalf("conflicting STORE: %s", r)
	}
	lines := fetchLines(untagged)
	var mine []string
	for _, l := range lines {
		if strings.HasPrefix(l, "* 2 FETCH") {
			mine = append(mine, l)
		}
	}
	// The first session to select got the messages as \Recent, and its
	// STORE answers say so, as Dovecot's do.
	if len(mine) != 1 || !strings.HasPrefix(mine[0], `* 2 FETCH (UID 2 FLAGS (\Flagged \Recent) MODSEQ (`) || modseqOf(mine[0]) <= h {
		t.Fatalf("STORE answers %q", untagged)
	}
	flags := fetchLines(tc.mustOK("FETCH 1 (FLAGS)"))
	if len(flags) != 1 || strings.Contains(flags[0], `\Flagged`) {
		t.Fatalf("a modified message was stored: %q", flags)
	}
	// UID STORE names UIDs; UNCHANGEDSINCE 0 fails for every message.
	if _, r := tc.cmd(`UID STORE 2:3 (UNCHANGEDSINCE 0) +FLAGS.SILENT (\Seen)`); r != "OK [MODIFIED 2:3] Conditional STORE failed for some messages" {
		t.Fatalf("UNCHANGEDSINCE 0: %s", r)
	}
	// .SILENT still reports the new mod-sequence, without FLAGS.
	cur := modseqOf(fetchLines(tc.mustOK("FETCH 3 (MODSEQ)"))[0])
	untagged, r = tc.cmd(`STORE 3 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\Seen)`, cur)
	lines = fetchLines(untagged)
	if r != "OK STORE completed" || len(lines) != 1 || !strings.HasPrefix(lines[0], "* 3 FETCH (UID 3 MODSEQ (") || modseqOf(lines[0]) <= cur {
		t.Fatalf("silent conditional STORE: %q %s", untagged, r)
	}
}

// SEARCH MODSEQ finds the messages changed since, and the response gives
// the highest mod-sequence among them.
func TestSearchModSeq(t *testing.T) {
	e := newEnv(t, withPlaintext)
	for _, s := range []string{"a", "b", "c", "d"} {
		e.deliver(s)
	}
	tc := e.condConn("")
	tc.mustOK("SELECT INBOX")
	h := tc.statusHighest()
	tc.mustOK(`STORE 2 +FLAGS (\Seen)`)
	last := modseqOf(fetchLines(tc.mustOK(`STORE 4 +FLAGS (\Seen)`))[0])
	untagged := tc.mustOK("SEARCH MODSEQ %d", h+1)
	if want := "* SEARCH 2 4 (MODSEQ " + strconv.FormatUint(last, 10) + ")"; !slices1(untagged, want) {
		t.Fatalf("SEARCH MODSEQ: %q, want %q", untagged, want)
	}
	untagged = tc.mustOK(`UID SEARCH RETURN (ALL) MODSEQ "/flags/\\seen" all %d`, h+1)
	if want := "UID ALL 2,4 MODSEQ " + strconv.FormatUint(last, 10); len(untagged) != 1 || !strings.HasSuffix(untagged[0], want) {
		t.Fatalf("UID SEARCH RETURN MODSEQ: %q, want suffix %q", untagged, want)
	}
	if untagged := tc.mustOK("SEARCH MODSEQ %d", last+1); !slices1(untagged, "* SEARCH") {
		t.Fatalf("SEARCH past the latest: %q", untagged)
	}
}

var uidValidityRe = regexp.MustCompile(`UIDVALIDITY (\d+)`)

// SELECT (QRESYNC ...) after another session and another store handle
// expunged and re-flagged messages answers VANISHED (EARLIER) and FETCH of
// the changed messages, and so does UID FETCH (CHANGEDSINCE m VANISHED).
func TestQResyncSelect(t *testing.T) {
	e := newEnv(t, withPlaintext)
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		e.deliver(s)
	}
	tc := e.condConn("QRESYNC")
	untagged := tc.mustOK("SELECT INBOX")
	h := highestIn(untagged)
	uv := uidValidityRe.FindStringSubmatch(strings.Join(untagged, " "))[1]
	tc.mustOK("LOGOUT")

	other := e.condConn("")
	other.mustOK("SELECT INBOX")
	other.mustOK(`UID STORE 2:3 +FLAGS.SILENT (\Deleted)`)
	other.mustOK("EXPUNGE")
	handle, err := e.openOther()
	if err != nil {
		t.Fatal(err)
	}
	defer handle.Close()
	if err := handle.StoreFlags(context.Background(), e.inbox.ID, []uint32{5}, store.FlagsAdd, []string{`\Answered`}); err != nil {
		t.Fatal(err)
	}

	tc = e.condConn("QRESYNC")
	untagged = tc.mustOK("SELECT INBOX (QRESYNC (%s %d 1:5))", uv, h)
	if !slices1(untagged, "* 3 EXISTS") || !slices1(untagged, "* VANISHED (EARLIER) 2:3") {
		t.Fatalf("QRESYNC SELECT: %q", untagged)
	}
	lines := fetchLines(untagged)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], `* 3 FETCH (UID 5 FLAGS (\Answered) MODSEQ (`) {
		t.Fatalf("QRESYNC SELECT changes: %q", lines)
	}
	if nh := highestIn(untagged); nh <= h {
		t.Fatalf("HIGHESTMODSEQ %d, not above %d", nh, h)
	}
	// Known UIDs limit VANISHED (EARLIER).
	untagged = tc.mustOK("EXAMINE INBOX (QRESYNC (%s %d 3:5))", uv, h)
	if !slices1(untagged, "* VANISHED (EARLIER) 3") {
		t.Fatalf("QRESYNC with known UIDs 3:5: %q", untagged)
	}
	// Another UIDVALIDITY: no resync data.
	untagged = tc.mustOK("SELECT INBOX (QRESYNC (1 %d))", h)
	if len(fetchLines(untagged)) != 0 || strings.Contains(strings.Join(untagged, " "), "VANISHED") {
		t.Fatalf("QRESYNC with a stale UIDVALIDITY: %q", untagged)
	}
	untagged = tc.mustOK("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", h)
	if !slices1(untagged, "* VANISHED (EARLIER) 2:3") || len(fetchLines(untagged)) != 1 {
		t.Fatalf("UID FETCH CHANGEDSINCE VANISHED: %q", untagged)
	}
}

// Once QRESYNC is enabled, expunges, by another store handle or by the
// session itself, are announced as VANISHED instead of EXPUNGE; flag
// changes by others arrive with MODSEQ.
func TestVanishedInsteadOfExpunge(t *testing.T) {
	e := newEnv(t, withPlaintext)
	for _, s := range []string{"a", "b", "c", "d"} {
		e.deliver(s)
	}
	tc := e.condConn("QRESYNC")
	tc.mustOK("SELECT INBOX")
	handle, err := e.openOther()
	if err != nil {
		t.Fatal(err)
	}
	defer handle.Close()
	ctx := context.Background()
	if err := handle.Expunge(ctx, e.inbox.ID, []uint32{2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := handle.StoreFlags(ctx, e.inbox.ID, []uint32{4}, store.FlagsAdd, []string{`\Flagged`}); err != nil {
		t.Fatal(err)
	}
	untagged := tc.mustOK("NOOP")
	if !slices1(untagged, "* VANISHED 2:3") || strings.Contains(strings.Join(untagged, " "), "EXPUNGE") {
		t.Fatalf("NOOP after expunges elsewhere: %q", untagged)
	}
	lines := fetchLines(untagged)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], `* 2 FETCH (UID 4 FLAGS (\Flagged \Recent) MODSEQ (`) { // recent here
		t.Fatalf("pushed flag change: %q", lines)
	}
	tc.mustOK(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	untagged, r := tc.cmd("EXPUNGE")
	if !slices1(untagged, "* VANISHED 1") || strings.Contains(strings.Join(untagged, " "), "EXPUNGE") {
		t.Fatalf("own EXPUNGE: %q", untagged)
	}
	if want := "OK [HIGHESTMODSEQ " + strconv.FormatUint(tc.statusHighest(), 10) + "] Expunge completed"; r != want {
		t.Fatalf("EXPUNGE: %s, want %s", r, want)
	}
	// A session without QRESYNC still gets EXPUNGE.
	plain := e.condConn("")
	plain.mustOK("SELECT INBOX")
	if err := handle.Expunge(ctx, e.inbox.ID, []uint32{4}); err != nil {
		t.Fatal(err)
	}
	if untagged := plain.mustOK("NOOP"); !slices1(untagged, "* 1 EXPUNGE") {
		t.Fatalf("NOOP without QRESYNC: %q", untagged)
	}
}

// HIGHESTMODSEQ grows with every change, whichever process makes it: a
// delivery by another process, a STORE by this one, an expunge by another
// store handle.
func TestHighestModSeqAcrossProcesses(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver("a")
	tc := e.condConn("")
	h0 := tc.statusHighest()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = e.deliverEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("delivering process: %v %s", err, out)
	}
	h1 := tc.statusHighest()
	tc.mustOK("SELECT INBOX")
	tc.mustOK(`STORE 2 +FLAGS (\Seen)`)
	h2 := tc.statusHighest()
	handle, err := e.openOther()
	if err != nil {
		t.Fatal(err)
	}
	defer handle.Close()
	if err := handle.Expunge(context.Background(), e.inbox.ID, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	h3 := tc.statusHighest()
	if !(h0 < h1 && h1 < h2 && h2 < h3) {
		t.Fatalf("HIGHESTMODSEQ %d, %d, %d, %d: not growing", h0, h1, h2, h3)
	}
}

// UNSELECT (RFC 3691) leaves the mailbox without expunging, unlike CLOSE.
func TestUnselect(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver("a")
	tc := e.condConn("")
	tc.mustOK("SELECT INBOX")
	tc.mustOK(`STORE 1 +FLAGS.SILENT (\Deleted)`)
	tc.mustOK("UNSELECT")
	if _, r := tc.cmd("FETCH 1 (FLAGS)"); !strings.HasPrefix(r, "BAD") {
		t.Fatalf("FETCH after UNSELECT: %s", r)
	}
	if untagged := tc.mustOK("SELECT INBOX"); !slices1(untagged, "* 1 EXISTS") {
		t.Fatalf("UNSELECT expunged: %q", untagged)
	}
	if _, r := tc.cmd("UNSELECT"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("UNSELECT: %s", r)
	}
	if _, r := tc.cmd("UNSELECT"); !strings.HasPrefix(r, "BAD") {
		t.Fatalf("UNSELECT with nothing selected: %s", r)
	}
}

// Malformed CONDSTORE and QRESYNC syntax gets BAD, and the connection
// serves on.
func TestCondStoreBadInput(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver("a")
	tc := e.condConn("")
	if _, r := tc.cmd("SELECT INBOX (QRESYNC (1 1))"); !strings.HasPrefix(r, "BAD") {
		t.Fatalf("QRESYNC before ENABLE: %s", r)
	}
	tc.mustOK("SELECT INBOX")
	for _, c := range []string{
		"FETCH 1 (FLAGS) (CHANGEDSINCE x)",
		"FETCH 1 (FLAGS) (CHANGEDSINCE 99999999999999999999999)",
		"FETCH 1 (FLAGS) (BOGUS 1)",
		"FETCH 1 (FLAGS) (CHANGEDSINCE 1",
		"UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)", // QRESYNC not enabled
		"STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)",
		"STORE 1 (BOGUS 1) +FLAGS (\\Seen)",
		"STORE 1 (UNCHANGEDSINCE 1)",
		"SEARCH MODSEQ",
		`SEARCH MODSEQ "/flags/\\seen" nope 1`,
		"STATUS INBOX (HIGHESTMODSEQ BOGUS)",
		"SELECT INBOX (BOGUS)",
	} {
		if _, r := tc.cmd("%s", c); !strings.HasPrefix(r, "BAD") {
			t.Errorf("%s: %s, want BAD", c, r)
		}
	}
	q := e.condConn("QRESYNC")
	for _, c := range []string{
		"SELECT INBOX (QRESYNC (0 1))",
		"SELECT INBOX (QRESYNC (1))",
		"SELECT INBOX (QRESYNC (1 1 1:x))",
		"SELECT INBOX (QRESYNC (1 1 1:5 (1:2)))",
		"SELECT INBOX (QRESYNC (1 1 $))",
		"SELECT INBOX (QRESYNC (1 1 1:5 ($ 1:2)))",
		"SELECT INBOX (QRESYNC (1 1 1:5 (1:2 $)))",
		"SELECT INBOX (QRESYNC (1 1 1:5 1:5))",
	} {
		if _, r := q.cmd("%s", c); !strings.HasPrefix(r, "BAD") {
			t.Errorf("%s: %s, want BAD", c, r)
		}
	}
	q.mustOK("SELECT INBOX (QRESYNC (1 1 1:5 (1:2 1:2)))")
	if _, r := q.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)"); !strings.HasPrefix(r, "BAD") {
		t.Errorf("VANISHED without UID: %s", r)
	}
	tc.mustOK("NOOP")
	q.mustOK("NOOP")
}

// FuzzCondStoreSyntax sends arbitrary text in the places the CONDSTORE
// and QRESYNC syntax takes: every command gets a tagged answer other than
// a server error, and the connection serves on.
func FuzzCondStoreSyntax(f *testing.F) {
	for _, s := range []string{"CHANGEDSINCE 1", "CHANGEDSINCE 1 VANISHED", "UNCHANGEDSINCE 0", "1 1 1:5 (1:2 1:2)",
		`"/flags/\\seen" all 1`, "CONDSTORE", "QRESYNC (1 1)", "VANISHED", "", "((", "CHANGEDSINCE 18446744073709551615"} {
		for form := range condForms {
			f.Add(uint8(form), s)
		}
	}
	e := newEnv(f, withPlaintext)
	e.deliver("a")
	e.deliver("b")
	conn := e.condConn("QRESYNC")
	conn.mustOK("SELECT INBOX")
	f.Fuzz(func(t *testing.T, form uint8, arg string) {
		if strings.ContainsAny(arg, "\r\n{") || len(arg) > 200 {
			return // another command, or a literal: not this syntax
		}
		tc := &textConn{t: t, c: conn.c, r: conn.r, n: conn.n}
		defer func() { conn.n = tc.n }()
		_, r := tc.cmd(condForms[int(form)%len(condForms)], arg)
		if !strings.HasPrefix(r, "OK") && !strings.HasPrefix(r, "NO") && !strings.HasPrefix(r, "BAD") || strings.Contains(r, "SERVERBUG") {
			t.Fatalf("%q: %s", arg, r)
		}
		if _, r := tc.cmd("SELECT INBOX"); !strings.HasPrefix(r, "OK") {
			t.Fatalf("after %q: SELECT %s", arg, r)
		}
	})
}

var condForms = []string{
	"FETCH 1:* (FLAGS) (%s)",
	"UID FETCH 1:* (FLAGS) (%s)",
	`STORE 1 (%s) +FLAGS (\Seen)`,
	"SEARCH MODSEQ %s",
	"SELECT INBOX (QRESYNC (%s))",
	"EXAMINE INBOX (%s)",
	"STATUS INBOX (%s)",
}

// An IDLE session with CONDSTORE enabled gets another process's flag
// change with its MODSEQ, and a QRESYNC one gets its expunge as VANISHED.
func TestIdlePushesModSeqAndVanished(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver("a")
	e.deliver("b")
	tc := e.condConn("QRESYNC")
	h := highestIn(tc.mustOK("SELECT INBOX"))
	tc.n++
	tc.send(fmt.Sprintf("t%d IDLE\r\n", tc.n))
	if l := tc.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %s", l)
	}
	handle, err := e.openOther()
	if err != nil {
		t.Fatal(err)
	}
	defer handle.Close()
	ctx := context.Background()
	if err := handle.StoreFlags(ctx, e.inbox.ID, []uint32{2}, store.FlagsAdd, []string{"$Important"}); err != nil {
		t.Fatal(err)
	}
	if l := tc.update(); !strings.HasPrefix(l, "* 2 FETCH (UID 2 FLAGS ($Important \\Recent) MODSEQ (") || modseqOf(l) <= h {
		t.Fatalf("pushed during IDLE: %s", l)
	}
	if err := handle.Expunge(ctx, e.inbox.ID, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	if l := tc.update(); l != "* VANISHED 1" {
		t.Fatalf("pushed during IDLE: %s, want * VANISHED 1", l)
	}
	tc.send("DONE\r\n")
	l := tc.line()
	for strings.HasSuffix(l, " RECENT") { // the expunged message was recent here
		l = tc.line()
	}
	if !strings.HasPrefix(l, fmt.Sprintf("t%d OK", tc.n)) {
		t.Fatalf("IDLE end: %s", l)
	}
}

// update reads the next message update, skipping announcements of the
// mailbox's flags (a new keyword may bring them).
func (tc *textConn) update() string {
	tc.t.Helper()
	for {
		l := tc.line()
		if !strings.HasPrefix(l, "* FLAGS ") && !strings.HasPrefix(l, "* OK [PERMANENTFLAGS ") {
			return l
		}
	}
}
