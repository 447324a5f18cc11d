package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"mailsuite/store"
)

// A session is told each flag change once: by its own STORE's answer (or
// not at all after .SILENT), or by one untagged FETCH, never by both or
// twice (issue 13).

var fetchRespLineRE = regexp.MustCompile(`^\* (\d+) FETCH `)

// fetchResponses returns the FETCH responses among untagged.
func fetchResponses(untagged []string) []string {
	var out []string
	for _, l := range untagged {
		if fetchRespLineRE.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// Two changes of one message committed by another process between two
// commands of a session reach it as one FETCH of the flags they left,
// not as the same FETCH twice.
func TestFlagChangesInOneBatchToldOnce(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver("one")
	other, err := e.openOther()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	b := e.dial()
	b.login()
	b.cmd("SELECT INBOX")
	ctx := context.Background()
	for round := 0; round < 5; round++ {
		if err := other.StoreFlags(ctx, e.inbox.ID, []uint32{1}, store.FlagsAdd, []string{`\Seen`}); err != nil {
			t.Fatal(err)
		}
		if err := other.StoreFlags(ctx, e.inbox.ID, []uint32{1}, store.FlagsAdd, []string{`\Flagged`}); err != nil {
			t.Fatal(err)
		}
		untagged, _ := b.cmd("NOOP")
		checkToldOnce(t, "NOOP", untagged)
		if err := other.StoreFlags(ctx, e.inbox.ID, []uint32{1}, store.FlagsDel, []string{`\Seen`, `\Flagged`}); err != nil {
			t.Fatal(err)
		}
		b.cmd("NOOP")
	}
}

// checkToldOnce fails if a message's flags are told twice alike in one
// answer.
func checkToldOnce(t *testing.T, cmd string, untagged []string) {
	t.Helper()
	seen := make(map[string]bool)
	for _, l := range fetchResponses(untagged) {
		if seen[l] {
			t.Errorf("%s: %q told twice: %q", cmd, l, untagged)
		}
		seen[l] = true
	}
}

// A STORE is answered with one FETCH per message, and a STORE .SILENT
// with none, while another session of the same process keeps syncing
// the change log (so the watcher may apply the change before the
// storing session does).
func TestStoreToldOnce(t *testing.T) {
	e := newEnv(t, withPlaintext)
	a, b := e.twoSelected()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- noopLoop(b, stop) }()
	for i := 0; i < 150; i++ {
		op := "+"
		if i%2 == 1 {
			op = "-"
		}
		cmd := fmt.Sprintf(`STORE 1 %sFLAGS (\Flagged)`, op)
		want := 1
		if i%3 == 2 {
			cmd = fmt.Sprintf(`STORE 1 %sFLAGS.SILENT ($x)`, op)
			want = 0
		}
		untagged, r := a.cmd("%s", cmd)
		if !strings.HasPrefix(r, "OK") {
			t.Fatalf("%s: %s", cmd, r)
		}
		if got := fetchResponses(untagged); len(got) != want {
			t.Errorf("%s: %d FETCH responses, want %d: %q", cmd, len(got), want, got)
		}
		if untagged, _ := a.cmd("NOOP"); len(fetchResponses(untagged)) > 0 {
			t.Errorf("NOOP after %s: own change told again: %q", cmd, untagged)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// noopLoop sends NOOP on tc until stop closes (each NOOP syncs the
// change log), without calling t from its goroutine.
func noopLoop(tc *textConn, stop <-chan struct{}) error {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return nil
		default:
		}
		tag := fmt.Sprintf("n%d", n)
		if _, err := fmt.Fprintf(tc.c, "%s NOOP\r\n", tag); err != nil {
			return err
		}
		for {
			l, err := tc.r.ReadString('\n')
			if err != nil {
				return err
			}
			if strings.HasPrefix(l, tag+" ") {
				break
			}
		}
	}
}

// twoSessionSteps is a script for two sessions of one account, a and b;
// each step's answer is compared with Dovecot's. It covers how a session
// hears of its own flag changes and of the other's: a STORE's answer,
// .SILENT, an untagged FETCH for the other's change, once.
//
// want, when set, is imapd's accepted answer where Dovecot's differs: a
// FETCH that reports flags a pending update also holds gets that update
// from Dovecot as a second, identical FETCH; imapd tells the client once.
var twoSessionSteps = []struct{ who, cmd, want string }{
	{"a", literalCmd(`APPEND INBOX "02-Jan-2006 15:04:05 +0000"`, testMessage("one")), ""},
	{"a", literalCmd(`APPEND INBOX "03-Jan-2006 15:04:05 +0000"`, testMessage("two")), ""},
	{"a", "SELECT INBOX", ""},
	{"b", "SELECT INBOX", ""},
	{"b", `STORE 1 +FLAGS (\Flagged)`, ""},
	{"b", "NOOP", ""},
	{"a", `STORE 1 +FLAGS.SILENT (\Seen)`, ""},
	{"a", "NOOP", ""},
	{"b", "NOOP", ""},
	{"b", `STORE 2 +FLAGS (\Answered)`, ""},
	{"b", `STORE 2 +FLAGS.SILENT (\Draft)`, ""},
	{"b", "NOOP", ""},
	{"a", "FETCH 2 (FLAGS)", `* 2 FETCH (FLAGS (\Answered \Draft)) | OK`},
	{"a", "NOOP", ""},
	{"a", `STORE 2 -FLAGS (\Draft)`, ""},
	{"a", "NOOP", ""},
	{"b", `STORE 2 -FLAGS.SILENT (\Answered)`, ""},
	{"b", "NOOP", ""},
	{"a", "NOOP", ""},
}

// TestFlagsToldNextToDovecot runs twoSessionSteps on imapd and on Dovecot
// and compares every answer (\Recent aside: which session gets it is
// covered by TestRecent).
func TestFlagsToldNextToDovecot(t *testing.T) {
	dove := startDovecot(t, []string{testUser}, "")
	e := newEnv(t, withPlaintext)
	norm := func(l string) string {
		l = normDovecot(l)
		if strings.HasSuffix(l, " RECENT") {
			return ""
		}
		return strings.NewReplacer(` \Recent)`, ")", `(\Recent)`, "()", `\Recent `, "").Replace(l)
	}
	run := func(addr string) []string {
		conns := map[string]*scriptConn{"a": dialScript(t, addr), "b": dialScript(t, addr)}
		for _, sc := range conns {
			sc.run("LOGIN "+testUser+` "`+testPass+`"`, norm)
		}
		out := make([]string, len(twoSessionSteps))
		for i, st := range twoSessionSteps {
			out[i] = sortUntagged(conns[st.who].run(st.cmd, norm))
		}
		return out
	}
	ours, ref := run(e.addr), run(dove)
	for i, st := range twoSessionSteps {
		t.Logf("%s: %.40q: %s", st.who, st.cmd, ours[i])
		if ours[i] != ref[i] && ours[i] != st.want {
			t.Errorf("%s: %s\n  imapd:   %s\n  dovecot: %s", st.who, strings.SplitN(st.cmd, "\r\n", 2)[0], ours[i], ref[i])
		}
	}
}
