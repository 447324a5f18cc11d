package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The multi-process tests re-execute the test binary: TestHelperProcess
// does nothing in a normal run, and plays a role (a daemon writing to the
// store) when the environment says so.
const (
	envRole = "STORE_TEST_HELPER_ROLE"
	envDB   = "STORE_TEST_DB"
	envSecs = "STORE_TEST_SECS"
	envArg  = "STORE_TEST_ARG"
)

// helperResult is what a helper prints on its last stdout line.
type helperResult struct {
	Delivered map[int64]int // user ID → messages delivered to their INBOX
	Expunged  map[int64]int // mailbox ID → messages expunged
	Grants    []string      // "ip user" pairs granted
	Failures  int           // auth failures recorded
	Seen      int           // changes tailed
}

func TestHelperProcess(t *testing.T) {
	role := os.Getenv(envRole)
	if role == "" {
		t.Skip("helper for the multi-process tests")
	}
	secs, _ := strconv.ParseFloat(os.Getenv(envSecs), 64)
	res, err := runHelper(role, os.Getenv(envDB), os.Getenv(envArg), time.Duration(secs*float64(time.Second)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", role, err)
		os.Exit(1)
	}
	out, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", out)
	os.Exit(0)
}

func runHelper(role, path, arg string, d time.Duration) (*helperResult, error) {
	if role == "open" {
		return &helperResult{}, openAndClose(path)
	}
	s, err := openSource(path)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	// The clock starts once the store is open: on a loaded machine opening
	// may take a while, and every role must get its turn.
	deadline := time.Now().Add(d)
	switch role {
	case "deliver":
		return helperDeliver(s, deadline)
	case "expunge":
		return helperExpunge(s, deadline)
	case "grant":
		return helperGrant(s, arg, deadline)
	case "authfail":
		return helperAuthFail(s, arg, deadline)
	case "reserve":
		return helperReserve(s)
	case "tail":
		return helperTail(s, deadline)
	case "crash":
		return nil, helperCrash(s)
	}
	return nil, fmt.Errorf("unknown role %q", role)
}

func openAndClose(path string) error {
	s, err := openSource(path)
	if err != nil {
		return err
	}
	return s.Close()
}

// startHelper starts the test binary as a helper process.
func startHelper(t *testing.T, role, path, arg string, secs float64) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envRole+"="+role, envDB+"="+path, envArg+"="+arg,
		envSecs+"="+strconv.FormatFloat(secs, 'f', -1, 64))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stdout, &stderr
}

func parseResult(out []byte) (*helperResult, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "RESULT "); ok {
			var r helperResult
			err := json.Unmarshal([]byte(line), &r)
			return &r, err
		}
	}
	return nil, fmt.Errorf("no RESULT line in %q", out)
}

// testUsers is how many users the multi-process test delivers to.
const testUsers = 4

func seedUsers(t testing.TB, path string) []int64 {
	t.Helper()
	ctx := context.Background()
	s, err := openSource(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range testUsers {
		id, err := s.AddUser(ctx, fmt.Sprintf("u%d@example.com", i), "hash", true)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func userIDs(s *Store) ([]int64, error) {
	us, err := s.Users(context.Background(), "example.com")
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	return ids, nil
}

// helperDeliver accepts messages from several goroutines, each to one or
// two local users and sometimes a remote recipient, as smtpd would.
func helperDeliver(s *Store, deadline time.Time) (*helperResult, error) {
	ids, err := userIDs(s)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	res := &helperResult{Delivered: map[int64]int{}}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for n := 0; time.Now().Before(deadline); n++ {
				env := Envelope{From: "sender@remote.test", Local: []int64{ids[rand.IntN(len(ids))]}}
				if n%3 == 0 {
					env.Local = append(env.Local, ids[rand.IntN(len(ids))])
				}
				if n%5 == 0 {
					env.Remote = []string{"far@remote.test"}
				}
				body := fmt.Appendf(nil, "Subject: pid %d g %d n %d\r\n\r\n%s\r\n", os.Getpid(), g, n, strings.Repeat("x", rand.IntN(8000)))
				if err := s.Accept(context.Background(), env, body); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, id := range env.Local {
					res.Delivered[id]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	return res, <-errs
}

// helperExpunge reads INBOXes and expunges half of what it finds. It is
// the only process that deletes, so what it expunges is what disappears.
func helperExpunge(s *Store, deadline time.Time) (*helperResult, error) {
	ctx := context.Background()
	ids, err := userIDs(s)
	if err != nil {
		return nil, err
	}
	res := &helperResult{Expunged: map[int64]int{}}
	for time.Now().Before(deadline) {
		for _, id := range ids {
			mb, err := s.MailboxByName(ctx, id, "INBOX")
			if err != nil {
				return nil, err
			}
			msgs, err := s.Messages(ctx, mb.ID)
			if err != nil {
				return nil, err
			}
			var uids []uint32
			for i, m := range msgs {
				if i%2 == 0 {
					uids = append(uids, m.UID)
				}
			}
			if len(msgs) > 0 {
				b, err := s.MessageBody(ctx, mb.ID, msgs[len(msgs)-1].UID)
				if err != nil {
					return nil, err
				}
				if int64(len(b)) != msgs[len(msgs)-1].Size {
					return nil, fmt.Errorf("message %d/%d: size %d, body %d bytes", mb.ID, msgs[len(msgs)-1].UID, msgs[len(msgs)-1].Size, len(b))
				}
			}
			if err := s.Expunge(ctx, mb.ID, uids); err != nil {
				return nil, err
			}
			res.Expunged[mb.ID] += len(uids)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return res, nil
}

// helperGrant grants relay to users from IPs in the 10.prefix.0.0/16 range.
func helperGrant(s *Store, prefix string, deadline time.Time) (*helperResult, error) {
	ids, err := userIDs(s)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for time.Now().Before(deadline) {
		ip := fmt.Sprintf("10.%s.%d.%d", prefix, rand.IntN(4), rand.IntN(256))
		id := ids[rand.IntN(len(ids))]
		if err := s.Grant(context.Background(), ip, id, time.Hour); err != nil {
			return nil, err
		}
		if _, err := s.LiveGrants(context.Background(), ip); err != nil {
			return nil, err
		}
		seen[fmt.Sprintf("%s %d", ip, id)] = true
	}
	res := &helperResult{}
	for k := range seen {
		res.Grants = append(res.Grants, k)
	}
	return res, nil
}

// helperAuthFail records failed logins from one IP, as pop3d would.
func helperAuthFail(s *Store, ip string, deadline time.Time) (*helperResult, error) {
	res := &helperResult{}
	unlimited := ThrottleLimits{Window: time.Hour, PerIP: 1 << 30, PerAccount: 1 << 30}
	for time.Now().Before(deadline) {
		if _, err := s.ReserveAttempt(context.Background(), ip, "victim@example.com", unlimited); err != nil {
			return nil, err
		}
		res.Failures++
	}
	return res, nil
}

// helperReserve tries 50 logins to one account from one IP as fast as it
// can, under the real limits, and says how many were let through to a
// password check.
func helperReserve(s *Store) (*helperResult, error) {
	res := &helperResult{}
	lim := ThrottleLimits{Window: time.Hour, PerIP: 10, PerAccount: 5, KnownFor: time.Hour}
	for i := 0; i < 50; i++ {
		_, err := s.ReserveAttempt(context.Background(), "192.0.2.9", "Victim@Example.com", lim)
		switch {
		case err == nil:
			res.Failures++
		case !errors.Is(err, ErrThrottledAccount) && !errors.Is(err, ErrThrottledIP) && !errors.Is(err, ErrAttemptsPending):
			return nil, err
		}
	}
	return res, nil
}

// TestReserveAttemptMultiProcess: four processes reserving login attempts
// for one account at once get exactly the account's limit between them,
// because the count and the record are one transaction.
func TestReserveAttemptMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	path := testSource(t)
	seedUsers(t, path)
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for i := 0; i < 4; i++ {
		cmd, out, _ := startHelper(t, "reserve", path, "", 10)
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	total := 0
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v", i, err)
		}
		r, err := parseResult(outs[i].Bytes())
		if err != nil {
			t.Fatal(err)
		}
		total += r.Failures
	}
	if total != 5 {
		t.Fatalf("%d attempts reached a password check, want exactly the account limit 5", total)
	}
}

// helperTail follows the change log as imapd does for IDLE (a
// ChangeCursor), and checks that it only ever sees whole commits in
// order: each change once, new UIDs strictly ascending per mailbox, and
// on SQLite, where one transaction writes at a time, no gaps in seq (on
// PostgreSQL deliveries commit in parallel and a gap fills later).
func helperTail(s *Store, deadline time.Time) (*helperResult, error) {
	ctx := context.Background()
	res := &helperResult{}
	lastUID := map[int64]uint32{}
	seen := map[int64]bool{}
	var cur ChangeCursor
	for {
		done := !time.Now().Before(deadline)
		last := cur.Last
		chs, _, err := s.ChangesWithFlags(ctx, &cur, func(int64) bool { return false })
		if err != nil {
			return nil, err
		}
		for _, c := range chs {
			if seen[c.Seq] {
				return nil, fmt.Errorf("change %d read twice", c.Seq)
			}
			seen[c.Seq] = true
			if !s.postgres() && c.Seq != last+1 {
				return nil, fmt.Errorf("change log gap: seq %d after %d", c.Seq, last)
			}
			last = c.Seq
			if c.Kind == ChangeNew {
				if c.UID <= lastUID[c.MailboxID] {
					return nil, fmt.Errorf("mailbox %d: new UID %d after %d", c.MailboxID, c.UID, lastUID[c.MailboxID])
				}
				lastUID[c.MailboxID] = c.UID
			}
			res.Seen++
		}
		if done && len(chs) == 0 {
			return res, nil
		}
		if len(chs) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestMultiProcess runs deliveries, expunges, grants, auth-failure records
// and a change-log reader in separate OS processes on one store file at
// once. No error may reach a caller (in particular no "database is
// locked"), and the counts must add up afterwards.
func TestMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	path := testSource(t)
	ids := seedUsers(t, path)
	const secs = 2
	roles := []struct{ role, arg string }{
		{"deliver", ""}, {"deliver", ""}, {"expunge", ""},
		{"grant", "1"}, {"grant", "2"}, {"authfail", "192.0.2.1"}, {"authfail", "192.0.2.2"},
		{"tail", ""},
	}
	type proc struct {
		cmd            *exec.Cmd
		stdout, stderr *bytes.Buffer
		role, arg      string
	}
	var procs []proc
	for _, r := range roles {
		cmd, out, errb := startHelper(t, r.role, path, r.arg, secs)
		procs = append(procs, proc{cmd, out, errb, r.role, r.arg})
	}
	var results []*helperResult
	for _, p := range procs {
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("%s %s: %v\n%s", p.role, p.arg, err, p.stderr)
			continue
		}
		r, err := parseResult(p.stdout.Bytes())
		if err != nil {
			t.Errorf("%s: %v", p.role, err)
			continue
		}
		results = append(results, r)
		if p.role == "authfail" && r.Failures == 0 {
			t.Errorf("authfail %s recorded nothing", p.arg)
		}
	}
	if t.Failed() {
		return
	}
	checkTotals(t, path, ids, results)
}

// checkTotals compares what the helpers say they did with the store.
func checkTotals(t *testing.T, path string, ids []int64, results []*helperResult) {
	t.Helper()
	ctx := context.Background()
	s, err := openSource(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkIntegrity(t, s)
	delivered, expunged, grants, failures, seen := map[int64]int{}, map[int64]int{}, map[string]bool{}, 0, 0
	for _, r := range results {
		for k, v := range r.Delivered {
			delivered[k] += v
		}
		for k, v := range r.Expunged {
			expunged[k] += v
		}
		for _, g := range r.Grants {
			grants[g] = true
		}
		failures += r.Failures
		seen += r.Seen
	}
	total := 0
	for _, id := range ids {
		mb, err := s.MailboxByName(ctx, id, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		total += delivered[id]
		if got := int(mb.UIDNext) - 1; got != delivered[id] {
			t.Errorf("user %d: UIDNEXT-1 = %d, delivered %d", id, got, delivered[id])
		}
		msgs, _ := s.Messages(ctx, mb.ID)
		if len(msgs) != delivered[id]-expunged[mb.ID] {
			t.Errorf("user %d: %d messages, delivered %d - expunged %d", id, len(msgs), delivered[id], expunged[mb.ID])
		}
		checkUIDOrder(t, s, mb.ID, delivered[id])
	}
	if total == 0 {
		t.Error("nothing was delivered")
	}
	var n int
	s.r.QueryRow(`SELECT count(*) FROM grants`).Scan(&n)
	if n != len(grants) || n == 0 {
		t.Errorf("grants: %d rows, helpers made %d", n, len(grants))
	}
	s.r.QueryRow(`SELECT count(*) FROM auth_failures WHERE key LIKE 'ip:%'`).Scan(&n)
	if n != failures {
		t.Errorf("auth failures: %d rows, helpers recorded %d", n, failures)
	}
	if seen == 0 {
		t.Error("the change-log reader saw nothing")
	}
	t.Logf("%d deliveries, %d grants, %d auth failures, %d changes tailed", total, len(grants), failures, seen)
}

// checkUIDOrder checks that a mailbox's UIDs are 1..n in commit order:
// unique, strictly ascending, none skipped.
func checkUIDOrder(t *testing.T, s *Store, mailboxID int64, n int) {
	t.Helper()
	rows, err := s.r.Query(`SELECT uid FROM changes WHERE mailbox_id = ? AND kind = 'new' ORDER BY seq`, mailboxID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := uint32(1)
	for rows.Next() {
		var uid uint32
		rows.Scan(&uid)
		if uid != want {
			t.Errorf("mailbox %d: UID %d committed where %d was expected", mailboxID, uid, want)
			return
		}
		want++
	}
	if int(want-1) != n {
		t.Errorf("mailbox %d: %d new-message changes, %d deliveries", mailboxID, want-1, n)
	}
}

func checkIntegrity(t *testing.T, s *Store) {
	t.Helper()
	if s.postgres() {
		return // no counterpart: PostgreSQL checks its pages as it reads them
	}
	var res string
	if err := s.r.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check = %q, %v", res, err)
	}
}
