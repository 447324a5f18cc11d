package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// crashBody is the message the crash helper writes for sequence number n:
// large (70 KB to 500 KB, so a commit spans many pages and
// WAL frames) and fully determined by n, so the parent can check it.
func crashBody(n int64) []byte {
	lines := 1000 + int(n*7919%6000)
	b := make([]byte, 0, 64+lines*72)
	b = fmt.Appendf(b, "X-Seq: %d\r\nSubject: crash test\r\n\r\n", n)
	for i := range lines {
		b = append(b, "message "...)
		b = strconv.AppendInt(b, n, 10)
		b = append(b, " line "...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ": the quick brown fox jumps over the lazy dog\r\n"...)
	}
	return b
}

func crashSeq(body []byte) (int64, error) {
	line, _, _ := bytes.Cut(body, []byte("\r\n"))
	v, ok := bytes.CutPrefix(line, []byte("X-Seq: "))
	if !ok {
		return 0, fmt.Errorf("no X-Seq header in %.40q", body)
	}
	return strconv.ParseInt(string(v), 10, 64)
}

// helperCrash delivers large messages to two local users and one remote
// recipient until it is killed, printing "committed N" after each Accept
// returns. Its sequence numbers start at envArg.
func helperCrash(s *Store) error {
	ids, err := userIDs(s)
	if err != nil {
		return err
	}
	base, _ := strconv.ParseInt(os.Getenv(envArg), 10, 64)
	var seq atomic.Int64
	seq.Store(base)
	var mu sync.Mutex
	fmt.Println("ready")
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			for {
				n := seq.Add(1)
				env := Envelope{From: "a@remote.test", Local: ids[:2], Remote: []string{"b@remote.test"}}
				if err := s.Accept(context.Background(), env, crashBody(n)); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				fmt.Printf("committed %d\n", n)
				mu.Unlock()
			}
		}()
	}
	return <-errs
}

// TestCrashMidDelivery kills a delivering process with SIGKILL at a random
// moment, several times, and checks after each kill that the store opens
// cleanly and holds every message whole or not at all, in every INBOX and
// in the queue, and that everything the child was told was committed is
// there.
func TestCrashMidDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	path := filepath.Join(t.TempDir(), "mail.db")
	ids := seedUsers(t, path)
	committed := map[int64]bool{}
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), envRole+"=crash", envDB+"="+path, envArg+"="+strconv.Itoa((round+1)*1_000_000))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		if l := <-lines; l != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: child said %q, stderr:\n%s", round, l, &stderr)
		}
		time.AfterFunc(time.Duration(50+rand.IntN(400))*time.Millisecond, func() { cmd.Process.Kill() })
		n := 0
		for l := range lines {
			if v, ok := strings.CutPrefix(l, "committed "); ok {
				seq, _ := strconv.ParseInt(v, 10, 64)
				committed[seq] = true
				n++
			}
		}
		if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("round %d: child ended with %v, not the kill; stderr:\n%s", round, err, &stderr)
		}
		t.Logf("round %d: %d messages committed before the kill", round, n)
		checkAfterCrash(t, path, ids[:2], committed)
	}
}

// checkAfterCrash opens the store after a kill and checks every message.
func checkAfterCrash(t *testing.T, path string, users []int64, committed map[int64]bool) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("open after kill: %v", err)
	}
	defer s.Close()
	checkIntegrity(t, s)
	var perUser []map[int64]bool
	for _, id := range users {
		mb, err := s.MailboxByName(ctx, id, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := s.Messages(ctx, mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]bool{}
		for _, m := range msgs {
			body, err := s.MessageBody(ctx, mb.ID, m.UID)
			if err != nil {
				t.Fatal(err)
			}
			got[checkWhole(t, body, m.Size)] = true
		}
		perUser = append(perUser, got)
	}
	got := checkQueueWhole(t, s)
	for seq := range committed {
		if !got[seq] {
			t.Errorf("message %d was reported committed but is not in the queue", seq)
		}
	}
	for i, g := range perUser {
		if len(g) != len(got) {
			t.Errorf("user %d has %d messages, the queue %d: a delivery was split", users[i], len(g), len(got))
		}
		for seq := range got {
			if !g[seq] {
				t.Errorf("message %d queued but not in user %d's INBOX", seq, users[i])
			}
		}
	}
}

func checkQueueWhole(t *testing.T, s *Store) map[int64]bool {
	t.Helper()
	rows, err := s.r.Query(`SELECT q.body, (SELECT count(*) FROM queue_rcpts r WHERE r.queue_id = q.id) FROM queue q`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int64]bool{}
	for rows.Next() {
		var body []byte
		var rcpts int
		if err := rows.Scan(&body, &rcpts); err != nil {
			t.Fatal(err)
		}
		seq := checkWhole(t, body, int64(len(body)))
		if rcpts != 1 {
			t.Errorf("queued message %d has %d recipients, want 1", seq, rcpts)
		}
		got[seq] = true
	}
	return got
}

// checkWhole checks that body is exactly what the helper wrote and that
// the recorded size matches, and returns the message's sequence number.
func checkWhole(t *testing.T, body []byte, size int64) int64 {
	t.Helper()
	seq, err := crashSeq(body)
	if err != nil {
		t.Fatal(err)
	}
	want, ok := crashDigests[seq]
	if !ok {
		b := crashBody(seq)
		want = crashDigest{sha256.Sum256(b), int64(len(b))}
		crashDigests[seq] = want
	}
	if sha256.Sum256(body) != want.sum || int64(len(body)) != want.size || size != want.size {
		t.Fatalf("message %d: %d bytes (size column %d), want %d bytes as written", seq, len(body), size, want.size)
	}
	return seq
}

// crashDigests caches what each crashBody hashes to: the check runs after
// every kill over every message so far.
var crashDigests = map[int64]crashDigest{}

type crashDigest struct {
	sum  [32]byte
	size int64
}
