package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailsuite/store"
)

// The multi-session consistency stress: sessions share INBOX, each doing
// APPEND, STORE (flags and keywords), EXPUNGE, MOVE, COPY and FETCH of
// every item, while deliveries (smtpd's path) and pop3d's DELE+QUIT
// (its Expunge) come from another store handle, as from other processes.
// Each session keeps the state it was told (EXISTS, EXPUNGE, FETCH UID
// and FLAGS, FLAGS) and checks every answer against it and against what
// was appended. Half the sessions enable CONDSTORE, so every flag update
// they get carries its MODSEQ: they check that no change is told twice
// (an unsolicited FETCH of a state already told, or two of one message
// in one answer) and that no older state follows a newer one.
// IMAPD_STRESS_SECONDS sets the length (default 5 s, the bench mode runs
// longer); the test logs commands per second.

// stressSessions is how many IMAP sessions share the mailbox.
const stressSessions = 10

func stressDuration() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("IMAPD_STRESS_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 5 * time.Second
}

func TestMultiSessionStress(t *testing.T) {
	if testing.Short() {
		t.Skip("stress")
	}
	e := newEnv(t, withPlaintext)
	other, err := store.Open(e.dbPath) // another process's handle
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	r := newStressRun(stressDuration())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.deliver(ctx, t, other, e.userID) }()
	go func() { defer wg.Done(); r.pop3Dele(ctx, t, other, e.inbox.ID) }()
	cmds := r.run(t, e.addr, testUser, testPass)
	cancel()
	wg.Wait()
	r.finalCheck(t, e.addr, testUser, testPass, e.inboxUIDs(t))
	t.Logf("%d commands in %v by %d sessions: %.0f commands/s, %d inconsistencies",
		cmds, r.dur, stressSessions, float64(cmds)/r.dur.Seconds(), r.nerrs)
	for _, e := range r.errs {
		t.Error(e)
	}
}

// stressRun is one run's shared state: the content of every message made,
// by token, for checking what FETCH returns.
type stressRun struct {
	dur   time.Duration
	next  atomic.Int64
	mu    sync.Mutex
	body  map[string][]byte // token -> message
	errs  []string          // the first 20
	nerrs int               // all of them
	ncmds atomic.Int64
}

func newStressRun(d time.Duration) *stressRun {
	return &stressRun{dur: d, body: make(map[string][]byte)}
}

func (r *stressRun) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nerrs++
	if len(r.errs) < 20 {
		r.errs = append(r.errs, fmt.Sprintf(format, args...))
	}
}

// newMessage makes a message with a unique token and remembers it.
func (r *stressRun) newMessage(from string) (string, []byte) {
	tok, msg := r.makeMessage(from)
	r.mu.Lock()
	r.body[tok] = msg
	r.mu.Unlock()
	return tok, msg
}

// makeMessage makes a message with a unique token. A message that gains
// headers on the way (smtpd's Received) is made but not remembered: its
// token is still checked, its exact content not.
func (r *stressRun) makeMessage(from string) (string, []byte) {
	tok := fmt.Sprintf("t%d", r.next.Add(1))
	pad := strings.Repeat("line of "+tok+"\r\n", rand.Intn(40))
	return tok, []byte("From: " + from + "\r\nTo: alice@example.com\r\nSubject: " + tok +
		"\r\nMessage-ID: <" + tok + "@example.org>\r\nX-Token: " + tok + "\r\n\r\n" + pad + "body " + tok + "\r\n")
}

func (r *stressRun) content(tok string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body[tok]
}

// deliver adds messages the way smtpd does, from another store handle.
func (r *stressRun) deliver(ctx context.Context, t testing.TB, st *store.Store, userID int64) {
	for ctx.Err() == nil {
		_, msg := r.newMessage("Deliverer <smtp@example.org>")
		if err := st.Accept(context.Background(), store.Envelope{From: "smtp@example.org", Local: []int64{userID}}, msg); err != nil {
			r.fail("deliver: %v", err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pop3Dele removes a message now and then the way pop3d's DELE and QUIT
// do, from another store handle.
func (r *stressRun) pop3Dele(ctx context.Context, t testing.TB, st *store.Store, mailboxID int64) {
	for ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		msgs, err := st.POP3Messages(context.Background(), mailboxID, func(b []byte) int64 { return int64(len(b)) })
		if err != nil {
			r.fail("pop3 list: %v", err)
			return
		}
		if len(msgs) == 0 {
			continue
		}
		m := msgs[rand.Intn(len(msgs))]
		if err := st.Expunge(context.Background(), mailboxID, []uint32{m.UID}); err != nil {
			r.fail("pop3 dele: %v", err)
			return
		}
	}
}

// run logs the sessions in, then drives them for the run's time, and
// returns the number of commands answered in that time.
func (r *stressRun) run(t testing.TB, addr, user, pass string) int64 {
	sessions := make([]*stressSession, stressSessions)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, err := r.dial(addr, user, pass, i)
			if err != nil {
				r.fail("session %d: %v", i, err)
				return
			}
			sessions[i] = s
		}(i)
	}
	wg.Wait()
	r.ncmds.Store(0) // logins are not the load measured
	deadline := time.Now().Add(r.dur)
	for i, s := range sessions {
		if s == nil {
			continue
		}
		wg.Add(1)
		go func(i int, s *stressSession) {
			defer wg.Done()
			defer s.c.Close()
			rng := rand.New(rand.NewSource(int64(i)))
			for time.Now().Before(deadline) {
				if err := s.step(rng); err != nil {
					r.fail("session %d: %v", i, err)
					return
				}
			}
		}(i, s)
	}
	wg.Wait()
	n := r.ncmds.Load()
	for _, s := range sessions {
		if s != nil {
			s.c.Close()
		}
	}
	return n
}

// finalCheck lets a fresh session and the store agree on the mailbox once
// inboxUIDs reads the UIDs the store holds in the test user's INBOX, for
// the stress runs' final comparison.
func (e *testEnv) inboxUIDs(t testing.TB) func() []uint32 {
	return func() []uint32 {
		uids, _, err := e.st.MailboxUIDs(context.Background(), e.inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		return uids
	}
}

// every writer has stopped.
func (r *stressRun) finalCheck(t testing.TB, addr, user, pass string, storeUIDs func() []uint32) {
	s, err := r.dial(addr, user, pass, -1)
	if err != nil {
		r.fail("final: %v", err)
		return
	}
	defer s.c.Close()
	if _, err := s.cmd("UID FETCH 1:* (UID FLAGS BODY.PEEK[])"); err != nil {
		r.fail("final fetch: %v", err)
		return
	}
	want := storeUIDs()
	if fmt.Sprint(want) != fmt.Sprint(s.uids) {
		r.fail("final: session sees %v, store has %v", s.uids, want)
	}
}

// stressSession is one IMAP connection and the state it was told.
type stressSession struct {
	r        *stressRun
	id       int
	c        net.Conn
	br       *bufio.Reader
	n        int
	uids     []uint32            // seq-1 -> UID, 0 when not told yet
	flags    map[uint32][]string // UID -> flags last told
	tokens   map[uint32]string   // UID -> token, once seen
	keywords map[string]bool     // announced by FLAGS (lower case)
	last     []string            // the last lines read, for failures

	condstore bool              // CONDSTORE enabled: flag updates carry MODSEQ
	modseq    map[uint32]uint64 // UID -> the highest MODSEQ told
	told      map[uint32]uint64 // UID -> MODSEQ told in this command's answer
	asked     func(seq int) bool
}

func (r *stressRun) dial(addr, user, pass string, id int) (*stressSession, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &stressSession{r: r, id: id, c: c, br: bufio.NewReader(c),
		flags: make(map[uint32][]string), tokens: make(map[uint32]string), keywords: make(map[string]bool),
		condstore: id%2 == 1, modseq: make(map[uint32]uint64)}
	if _, err := s.readLine(); err != nil {
		c.Close()
		return nil, err
	}
	cmds := []string{fmt.Sprintf("LOGIN %s %q", user, pass), "SELECT INBOX"}
	if s.condstore {
		cmds = []string{cmds[0], "ENABLE CONDSTORE", cmds[1]}
	}
	for _, cmd := range cmds {
		status, err := s.cmd(cmd)
		// Ten logins at once, each an argon2 hash, can outlast the wait
		// for attempts in progress on a loaded machine (-race): the
		// server then asks to retry later, and a client does.
		for try := 0; try < 20 && err == nil && strings.HasPrefix(status, "NO [UNAVAILABLE]"); try++ {
			time.Sleep(500 * time.Millisecond)
			status, err = s.cmd(cmd)
		}
		if err != nil || !strings.HasPrefix(status, "OK") {
			c.Close()
			return nil, fmt.Errorf("%s: %s %v", cmd, status, err)
		}
	}
	return s, nil
}

var stressKeywords = []string{`\Seen`, `\Flagged`, `\Answered`, `\Deleted`, `$k0`, `$k1`, `$k2`, `$Junk`}

var fetchItems = []string{"UID", "FLAGS", "RFC822.SIZE", "INTERNALDATE", "ENVELOPE", "BODYSTRUCTURE",
	"BODY.PEEK[]", "BODY.PEEK[HEADER.FIELDS (Subject X-Token)]", "BODY.PEEK[TEXT]", "BINARY.PEEK[1]", "RFC822.HEADER"}

// step sends one random command and checks its answer.
func (s *stressSession) step(rng *rand.Rand) error {
	n := len(s.uids)
	var cmd string
	switch p := rng.Intn(100); {
	case p < 15:
		_, msg := s.r.newMessage("Appender <imap@example.org>")
		flags := ""
		if rng.Intn(2) == 0 {
			flags = "(" + stressKeywords[rng.Intn(len(stressKeywords))] + ") "
		}
		cmd = fmt.Sprintf("APPEND INBOX %s{%d+}\r\n%s", flags, len(msg), msg)
	case p < 45 && n > 0:
		a := rng.Intn(n) + 1
		b := a + rng.Intn(5)
		if b > n {
			b = n
		}
		k := rng.Intn(len(fetchItems)) + 1
		items := append([]string(nil), fetchItems...)
		rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
		cmd = fmt.Sprintf("FETCH %d:%d (UID %s)", a, b, strings.Join(items[:k], " "))
	case p < 50:
		cmd = "UID FETCH 1:* (UID FLAGS)"
	case p < 70 && n > 0:
		ops := []string{"+FLAGS", "-FLAGS", "FLAGS", "+FLAGS.SILENT", "-FLAGS.SILENT"}
		cmd = fmt.Sprintf("STORE %d %s (%s)", rng.Intn(n)+1, ops[rng.Intn(len(ops))], stressKeywords[rng.Intn(len(stressKeywords))])
	case p < 78:
		cmd = "EXPUNGE"
	case p < 85 && n > 0:
		cmd = fmt.Sprintf("MOVE %d Trash", rng.Intn(n)+1)
	case p < 88 && n > 0:
		cmd = fmt.Sprintf("COPY %d INBOX", rng.Intn(n)+1)
	case p < 92:
		cmd = "SEARCH ALL"
	default:
		cmd = "NOOP"
	}
	status, err := s.cmd(cmd)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(status, "OK") && !strings.HasPrefix(status, "NO [EXPUNGEISSUED]") {
		s.r.fail("session %d: %.80q: %s", s.id, cmd, status)
	}
	return nil
}

// cmd sends a command and applies and checks every response.
func (s *stressSession) cmd(cmd string) (string, error) {
	s.n++
	tag := fmt.Sprintf("s%d", s.n)
	s.c.SetDeadline(time.Now().Add(2 * time.Minute)) // generous: logins hash under load
	s.remember(fmt.Sprintf("C: %.60s", cmd))
	s.told, s.asked = make(map[uint32]uint64), askedBy(cmd)
	if _, err := fmt.Fprintf(s.c, "%s %s\r\n", tag, cmd); err != nil {
		return "", err
	}
	for {
		line, lits, err := s.readResponse()
		if err != nil {
			return "", fmt.Errorf("%.80q: %w (last lines: %q)", cmd, err, s.last)
		}
		if strings.HasPrefix(line, tag+" ") {
			s.r.ncmds.Add(1)
			status := strings.TrimPrefix(line, tag+" ")
			return status, nil
		}
		s.untagged(cmd, line, lits)
	}
}

// remember keeps the last lines of the conversation for a failure report.
func (s *stressSession) remember(l string) {
	if s.last = append(s.last, l); len(s.last) > 12 {
		s.last = s.last[len(s.last)-12:]
	}
}

func (s *stressSession) readLine() (string, error) {
	l, err := s.br.ReadString('\n')
	s.remember(fmt.Sprintf("%.100s", l))
	return strings.TrimRight(l, "\r\n"), err
}

// readResponse reads one response; each literal is replaced in the line
// by "\x00" and returned aside.
func (s *stressSession) readResponse() (string, [][]byte, error) {
	var lits [][]byte
	line, err := s.readLine()
	for err == nil {
		n := literalSize(line)
		if n == 0 {
			break
		}
		buf := make([]byte, n)
		if _, err = io.ReadFull(s.br, buf); err != nil {
			break
		}
		lits = append(lits, buf)
		line = literalRE.ReplaceAllString(line, "\x00")
		var rest string
		rest, err = s.readLine()
		line += rest
	}
	return line, lits, err
}

var (
	existsRE    = regexp.MustCompile(`^\* (\d+) EXISTS$`)
	expungeRE   = regexp.MustCompile(`^\* (\d+) EXPUNGE$`)
	recentRE    = regexp.MustCompile(`^\* (\d+) RECENT$`)
	fetchRespRE = regexp.MustCompile(`^\* (\d+) FETCH \((.*)\)$`)
	mboxFlagsRE = regexp.MustCompile(`^\* FLAGS \(([^)]*)\)$`)
)

func (s *stressSession) untagged(cmd, line string, lits [][]byte) {
	atoi := func(v string) int { n, _ := strconv.Atoi(v); return n }
	switch {
	case existsRE.MatchString(line):
		n := atoi(existsRE.FindStringSubmatch(line)[1])
		if n < len(s.uids) {
			s.r.fail("session %d: %s with %d messages known", s.id, line, len(s.uids))
			return
		}
		for len(s.uids) < n {
			s.uids = append(s.uids, 0)
		}
	case expungeRE.MatchString(line):
		n := atoi(expungeRE.FindStringSubmatch(line)[1])
		if n < 1 || n > len(s.uids) {
			s.r.fail("session %d: %s with %d messages known", s.id, line, len(s.uids))
			return
		}
		if strings.HasPrefix(cmd, "FETCH") || strings.HasPrefix(cmd, "STORE") || strings.HasPrefix(cmd, "SEARCH") { // UID commands may (RFC 3501 7.4.1)
			s.r.fail("session %d: EXPUNGE during %s", s.id, cmd)
		}
		uid := s.uids[n-1]
		s.uids = append(s.uids[:n-1], s.uids[n:]...)
		delete(s.flags, uid)
		delete(s.modseq, uid)
	case recentRE.MatchString(line):
		if n := atoi(recentRE.FindStringSubmatch(line)[1]); n > len(s.uids) {
			s.r.fail("session %d: %s with %d messages", s.id, line, len(s.uids))
		}
	case mboxFlagsRE.MatchString(line):
		for _, f := range strings.Fields(mboxFlagsRE.FindStringSubmatch(line)[1]) {
			s.keywords[strings.ToLower(f)] = true
		}
	case fetchRespRE.MatchString(line):
		m := fetchRespRE.FindStringSubmatch(line)
		s.fetch(cmd, atoi(m[1]), m[2], lits)
	case strings.HasPrefix(line, "* SEARCH"):
		for _, f := range strings.Fields(strings.TrimPrefix(line, "* SEARCH")) {
			if n := atoi(f); n < 1 || n > len(s.uids) {
				s.r.fail("session %d: SEARCH gave %d of %d", s.id, n, len(s.uids))
			}
		}
	}
}

// fetch checks one FETCH response against what the session was told and
// what was appended.
func (s *stressSession) fetch(cmd string, seq int, items string, lits [][]byte) {
	if seq < 1 || seq > len(s.uids) {
		s.r.fail("session %d: FETCH %d with %d messages", s.id, seq, len(s.uids))
		return
	}
	list, err := parseList(items, lits)
	if err != nil {
		s.r.fail("session %d: FETCH %d: %v: %q", s.id, seq, err, items)
		return
	}
	vals := make(map[string]sexp)
	for i := 0; i+1 < len(list); i += 2 {
		vals[strings.ToUpper(strings.ReplaceAll(list[i].atom, `"`, ""))] = list[i+1]
	}
	uid := s.uids[seq-1]
	if uidv, ok := vals["UID"]; ok {
		uid64, _ := strconv.ParseUint(uidv.atom, 10, 32)
		uid = uint32(uid64)
	} else if uid == 0 {
		return // a flag update of a message whose UID we were not told
	}
	if known := s.uids[seq-1]; known != 0 && known != uid {
		s.r.fail("session %d: seq %d is UID %d, was told %d", s.id, seq, uid, known)
		return
	}
	s.uids[seq-1] = uid
	if (seq > 1 && s.uids[seq-2] >= uid) || (seq < len(s.uids) && s.uids[seq] != 0 && s.uids[seq] <= uid) {
		s.r.fail("session %d: UIDs out of order around seq %d: %v", s.id, seq, s.uids)
	}
	if f, ok := vals["FLAGS"]; ok {
		var flags []string
		for _, x := range f.list {
			if !strings.HasPrefix(x.atom, `\`) && !s.keywords[strings.ToLower(x.atom)] {
				s.r.fail("session %d: keyword %s before FLAGS announced it", s.id, x.atom)
			}
			flags = append(flags, x.atom)
		}
		s.flags[uid] = flags
	}
	if m, ok := vals["MODSEQ"]; ok && len(m.list) == 1 {
		ms, _ := strconv.ParseUint(m.list[0].atom, 10, 64)
		s.checkModSeq(cmd, seq, uid, ms)
	}
	s.checkContent(uid, vals)
}

// checkModSeq checks that a FETCH with MODSEQ tells something new: a
// message's state is in a command's answer once, never after a newer one
// told before, and an unsolicited update never repeats a state told.
func (s *stressSession) checkModSeq(cmd string, seq int, uid uint32, ms uint64) {
	if prev, ok := s.told[uid]; ok && ms <= prev {
		s.r.fail("session %d: %.40q: UID %d told twice in one answer (MODSEQ %d, then %d)", s.id, cmd, uid, prev, ms)
	}
	s.told[uid] = ms
	switch last := s.modseq[uid]; {
	case ms < last:
		s.r.fail("session %d: %.40q: UID %d: MODSEQ %d after %d", s.id, cmd, uid, ms, last)
	case ms == last && !s.asked(seq):
		s.r.fail("session %d: %.40q: UID %d: MODSEQ %d told again", s.id, cmd, uid, ms)
	}
	if ms > s.modseq[uid] {
		s.modseq[uid] = ms
	}
}

// askedBy says which sequence numbers a command asks FETCH responses
// for: those of its FETCH or STORE set; the others get them unsolicited.
func askedBy(cmd string) func(seq int) bool {
	var a, b int
	switch {
	case strings.HasPrefix(cmd, "UID FETCH"):
		return func(int) bool { return true }
	case strings.HasPrefix(cmd, "FETCH"):
		fmt.Sscanf(cmd, "FETCH %d:%d", &a, &b)
	case strings.HasPrefix(cmd, "STORE"):
		fmt.Sscanf(cmd, "STORE %d", &a)
		b = a
	}
	return func(seq int) bool { return seq >= a && seq <= b }
}

// checkContent compares the items that show a message's content with the
// message appended under its token; a UID's token never changes.
func (s *stressSession) checkContent(uid uint32, vals map[string]sexp) {
	tok := ""
	if env, ok := vals["ENVELOPE"]; ok {
		if len(env.list) < 2 || env.list[1].str == "" {
			s.r.fail("session %d: UID %d: empty ENVELOPE", s.id, uid)
			return
		}
		tok = env.list[1].str
	}
	if b, ok := vals["BODY[]"]; ok {
		t := tokenOf(b.str)
		if t == "" || (tok != "" && t != tok) {
			s.r.fail("session %d: UID %d: BODY[] without its token", s.id, uid)
			return
		}
		tok = t
		if want := s.r.content(tok); want != nil && string(want) != b.str {
			s.r.fail("session %d: UID %d: BODY[] differs from what was appended", s.id, uid)
		}
	}
	if h, ok := vals["BODY[HEADER.FIELDS (SUBJECT X-TOKEN)]"]; ok {
		if t := tokenOf(h.str); t == "" || (tok != "" && t != tok) {
			s.r.fail("session %d: UID %d: header fields %q", s.id, uid, h.str)
			return
		} else {
			tok = t
		}
	}
	if tok == "" {
		return
	}
	if old, ok := s.tokens[uid]; ok && old != tok {
		s.r.fail("session %d: UID %d was %s, now %s", s.id, uid, old, tok)
	}
	s.tokens[uid] = tok
	if size, ok := vals["RFC822.SIZE"]; ok {
		if want := s.r.content(tok); want != nil && size.atom != strconv.Itoa(len(want)) {
			s.r.fail("session %d: UID %d: RFC822.SIZE %s, appended %d", s.id, uid, size.atom, len(want))
		}
	}
}

var tokenRE = regexp.MustCompile(`X-Token: (t\d+)`)

func tokenOf(s string) string {
	m := tokenRE.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}

// sexp is a parsed IMAP value: an atom, a string (quoted or literal) or a
// list.
type sexp struct {
	atom string
	str  string
	list []sexp
}

// parseList parses the items of a parenthesised list; "\x00" in s stands
// for the next literal.
func parseList(s string, lits [][]byte) ([]sexp, error) {
	p := &sexpParser{s: s, lits: lits}
	var out []sexp
	for {
		p.space()
		if p.i >= len(p.s) {
			return out, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

type sexpParser struct {
	s    string
	i    int
	lits [][]byte
}

func (p *sexpParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *sexpParser) value() (sexp, error) {
	switch c := p.s[p.i]; c {
	case '(':
		p.i++
		var l []sexp
		for {
			p.space()
			if p.i >= len(p.s) {
				return sexp{}, fmt.Errorf("unclosed list")
			}
			if p.s[p.i] == ')' {
				p.i++
				return sexp{list: l}, nil
			}
			v, err := p.value()
			if err != nil {
				return sexp{}, err
			}
			l = append(l, v)
		}
	case '"':
		p.i++
		var b strings.Builder
		for p.i < len(p.s) && p.s[p.i] != '"' {
			if p.s[p.i] == '\\' {
				p.i++
			}
			b.WriteByte(p.s[p.i])
			p.i++
		}
		p.i++
		return sexp{str: b.String()}, nil
	case 0:
		p.i++
		if len(p.lits) == 0 {
			return sexp{}, fmt.Errorf("missing literal")
		}
		v := sexp{str: string(p.lits[0])}
		p.lits = p.lits[1:]
		return v, nil
	default:
		start := p.i
		depth := 0
		for p.i < len(p.s) {
			c := p.s[p.i]
			if c == '[' {
				depth++
			} else if c == ']' {
				depth--
			} else if depth == 0 && (c == ' ' || c == '(' || c == ')') {
				break
			}
			p.i++
		}
		if p.i == start {
			return sexp{}, fmt.Errorf("unexpected %q", c)
		}
		return sexp{atom: p.s[start:p.i]}, nil
	}
}

// BenchmarkStressThroughput runs the stress sessions (IMAP load only, no
// other writers, so the two servers do the same work) against imapd and
// against Dovecot in its performance mode, and reports commands per second
// of each and the inconsistencies the sessions found ("errors"): imapd's
// figure counts only with none, and any fails the benchmark. Run with
// -benchtime=1x; IMAPD_STRESS_SECONDS sets the length.
func BenchmarkStressThroughput(b *testing.B) {
	d := stressDuration()
	b.Run("imapd", func(b *testing.B) {
		e := newEnv(b, withPlaintext)
		r := newStressRun(d)
		cmds := r.run(b, e.addr, testUser, testPass)
		for _, msg := range r.errs {
			b.Error(msg)
		}
		b.ReportMetric(float64(cmds)/d.Seconds(), "cmds/s")
		b.ReportMetric(float64(r.nerrs), "errors")
	})
	b.Run("dovecot", func(b *testing.B) {
		addr := startDovecot(b, []string{testUser}, dovecotPerfConf)
		r := newStressRun(d)
		cmds := r.run(b, addr, testUser, testPass)
		for _, msg := range r.errs {
			b.Log("dovecot: " + msg)
		}
		b.ReportMetric(float64(cmds)/d.Seconds(), "cmds/s")
		b.ReportMetric(float64(r.nerrs), "errors")
	})
}

// dovecotPerfConf is Dovecot's high-performance mode, as the bench anchor
// runs it: login and imap processes reused and pre-forked.
const dovecotPerfConf = `
service imap-login {
  service_count = 0
  process_min_avail = 2
}
service imap {
  process_min_avail = 2
  service_count = 0
  client_limit = 1
}
mail_fsync = optimized
`
