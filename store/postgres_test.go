package store

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestOpenDriver: the driver names choose the backend; any other name is
// refused with the two valid ones.
func TestOpenDriver(t *testing.T) {
	_, err := OpenDriver("mysql", "x")
	if err == nil || !strings.Contains(err.Error(), `"sqlite"`) || !strings.Contains(err.Error(), `"postgres"`) {
		t.Fatalf("unknown driver: %v", err)
	}
	src := testSource(t)
	s, err := OpenDriver(testDriver(), src)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Driver() != testDriver() {
		t.Errorf("Driver() = %q, want %q", s.Driver(), testDriver())
	}
	wantDSN := ""
	if testDriver() == DriverPostgres {
		wantDSN = src
	}
	if s.DSN() != wantDSN {
		t.Errorf("DSN() = %q, want %q", s.DSN(), wantDSN)
	}
	if (s.Path() == "") != (testDriver() == DriverPostgres) {
		t.Errorf("Path() = %q: the file of SQLite only", s.Path())
	}
}

// TestOpenPostgresBadDSN: a malformed connection string is refused
// without quoting it (it may hold the password), and so is a server that
// does not answer, naming the database.
func TestOpenPostgresBadDSN(t *testing.T) {
	_, err := OpenPostgres("host=db password=sekrit port=x")
	if err == nil || strings.Contains(err.Error(), "sekrit") {
		t.Fatalf("err = %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close() // nothing listens there now
	_, err = OpenPostgres(fmt.Sprintf("host=127.0.0.1 port=%d dbname=mail user=ms password=sekrit sslmode=disable", addr.Port))
	if err == nil || strings.Contains(err.Error(), "sekrit") || !strings.Contains(err.Error(), "postgres database mail on 127.0.0.1") {
		t.Fatalf("err = %v", err)
	}
}

// TestTextNotUTF8: bytes SQLite stores as they are but PostgreSQL's text
// refuses (invalid UTF-8, NUL) never fail a write: a remote server's
// reply in the queue, a subject in the sending counts, a login name in
// the throttle.
func TestTextNotUTF8(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	ctx := context.Background()
	bad := "550 caf\xe9 \x00 refused"
	sn := &Sending{Account: u.Address, IP: "192.0.2.1", Subject: "caf\xe9\x00", Rcpts: []string{"x@remote.test"}}
	if err := s.Accept(ctx, Envelope{From: u.Address, Remote: []string{"x@remote.test"}, Sending: sn}, []byte("m\r\n")); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueRecipients(ctx, time.Now().Add(time.Hour), 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("due = %+v, %v", due, err)
	}
	if _, err := s.RecordAttempts(ctx, due[0].QueueID, []Outcome{{RcptID: due[0].ID, Status: RcptPending,
		Next: time.Now().Add(time.Hour), Error: bad, RemoteMTA: "mx.\xff.test"}}); err != nil {
		t.Fatal(err)
	}
	q, err := s.QueuedMessageByID(ctx, due[0].QueueID)
	if err != nil || len(q.Rcpts) != 1 || !strings.HasPrefix(q.Rcpts[0].LastError, "550 caf") {
		t.Fatalf("queued = %+v, %v", q, err)
	}
	if _, err := s.ReserveAttempt(ctx, "192.0.2.1", "b\xff\x00@example.com", testLimits); err != nil {
		t.Fatal(err)
	}
	// A prepared statement's arguments too.
	err = s.write(ctx, func(tx *sql.Tx) error {
		st, err := tx.Prepare(`INSERT INTO meta (key, value) VALUES (?, 1)`)
		if err != nil {
			return err
		}
		defer st.Close()
		_, err = st.Exec("k\xff\x00")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
