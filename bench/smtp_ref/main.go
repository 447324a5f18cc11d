// Command smtp_ref is the yardstick for smtpd's accept rate: a bare
// go-smtp server that accepts every message and, depending on -mode,
// stores it in one SQLite table the simplest way there is. Measured with
// ../../shared/bench/smtp_accept.sh next to smtpd and smtp-sink, it shows
// what the protocol library, SQLite and the disk's fsync cost on their
// own on this machine, so smtpd's figure can be read against them:
//
//	nodb   read the data, store nothing (go-smtp's own bound)
//	nosync one INSERT per message, WAL, synchronous=OFF (not durable)
//	full   one INSERT per message, WAL, synchronous=FULL (durable)
//	group  as full, but one goroutine commits the messages of all
//	       waiting sessions in one transaction (group commit)
//
// Loopback only; the database is a temporary file removed at exit.
package main

import (
	"database/sql"
	"flag"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/emersion/go-smtp"
	_ "github.com/mattn/go-sqlite3"
)

var (
	addr = flag.String("addr", "127.0.0.1:22625", "listen address (loopback)")
	mode = flag.String("mode", "group", "nodb, nosync, full or group")
)

func main() {
	flag.Parse()
	if host, _, err := net.SplitHostPort(*addr); err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("smtp_ref: -addr %s is not a loopback address", *addr)
	}
	dir, err := os.MkdirTemp("", "smtp_ref")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	b, err := newBackend(*mode, filepath.Join(dir, "ref.db"))
	if err != nil {
		log.Fatalf("smtp_ref: %v", err)
	}
	srv := smtp.NewServer(b)
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		srv.Close()
	}()
	log.Printf("smtp_ref: mode %s on %s", *mode, *addr)
	if err := srv.Serve(ln); err != nil && err != smtp.ErrServerClosed {
		log.Print(err)
	}
}

type backend struct {
	mode string
	db   *sql.DB
	reqs chan *request // group mode: messages waiting for the committer
}

type request struct {
	from, to string
	body     []byte
	done     chan error
}

func newBackend(mode, path string) (*backend, error) {
	b := &backend{mode: mode}
	sync := "FULL"
	switch mode {
	case "nodb":
		return b, nil
	case "nosync":
		sync = "OFF"
	case "full", "group":
	default:
		return nil, &os.PathError{Op: "mode", Path: mode, Err: os.ErrInvalid}
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous="+sync+"&_txlock=immediate&_busy_timeout=5000")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE m (id INTEGER PRIMARY KEY, sender TEXT, rcpt TEXT, body BLOB)"); err != nil {
		return nil, err
	}
	b.db = db
	if mode == "group" {
		b.reqs = make(chan *request, 256)
		go b.commitLoop()
	}
	return b, nil
}

// commitLoop commits every waiting message in one transaction.
func (b *backend) commitLoop() {
	for first := range b.reqs {
		batch := []*request{first}
	gather:
		for {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		err := b.insert(batch)
		for _, r := range batch {
			r.done <- err
		}
	}
}

func (b *backend) insert(batch []*request) error {
	tx, err := b.db.Begin()
	if err != nil {
		return err
	}
	for _, r := range batch {
		if _, err := tx.Exec("INSERT INTO m (sender, rcpt, body) VALUES (?, ?, ?)", r.from, r.to, r.body); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

type session struct {
	b        *backend
	from, to string
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error   { s.to = to; return nil }
func (s *session) Reset()                                      {}
func (s *session) Logout() error                               { return nil }

func (s *session) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	r0 := &request{from: s.from, to: s.to, body: body, done: make(chan error, 1)}
	switch s.b.mode {
	case "nodb":
		return nil
	case "group":
		s.b.reqs <- r0
		return <-r0.done
	}
	return s.b.insert([]*request{r0})
}
