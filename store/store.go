// Package store is the mailbox store shared by smtpd, pop3d, imapd and
// mailctl: an SQLite file (one host), or a PostgreSQL database that the
// daemons of several hosts share (see postgres.go). It is the only package
// that writes SQL.
//
// Three processes use one file at once, so the store opens it in WAL mode
// with a busy timeout, begins every write transaction IMMEDIATE (a writer
// waits for the lock up front instead of failing on upgrade), and commits
// with synchronous=FULL so that a committed transaction survives a crash.
// Concurrent deliveries (Accept) and IMAP APPENDs, COPYs, MOVEs and
// EXPUNGEs share one commit and so one fsync: see commitLoop in deliver.go. Flag, keyword and \Recent
// changes alone commit without an fsync of their own (writeLazy).
//
// On PostgreSQL the same model holds across processes and hosts: every
// write transaction first takes one advisory lock, so writes still run one
// at a time, except that batches of plain deliveries share it and commit
// in parallel, each holding its recipients' INBOXes (see writeLockKey);
// read-only transactions read one snapshot (REPEATABLE READ); commits
// wait for the WAL flush (synchronous_commit on), except writeLazy's.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sys/unix"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is returned when a record to be created already exists.
var ErrExists = errors.New("already exists")

// busyTimeout is how long a connection waits for another process's lock.
// Deliveries are short transactions; a long wait means something is wrong.
const busyTimeout = 30 * time.Second

// stmtCacheSize is how many prepared statements each connection keeps:
// more than the store has distinct hot queries.
const stmtCacheSize = 64

// ErrClosed is returned by calls on a closed store.
var ErrClosed = errors.New("store closed")

// Store is an open mailbox store.
type Store struct {
	driver     string  // DriverSQLite or DriverPostgres
	dsn        string  // the PostgreSQL connection string ("" for SQLite)
	path       string  // the SQLite file, or a PostgreSQL database's name for messages
	w          *sql.DB // the single writer connection
	r          *sql.DB // readers
	now        func() time.Time
	migrations fs.FS
	migDir     string // the folder of migrations in migrations

	accepts   chan *acceptReq // Accept calls waiting for the committer
	quit      chan struct{}   // closed by Close: the committer stops
	notifyReq chan struct{}   // PostgreSQL: a notification is due (notifyLoop)
	committer sync.WaitGroup
	closeOnce sync.Once
	onBatch   func(n int)         // test hook: called with each batch's size
	onRetry   func(err error)     // test hook: called before a busy batch is run again
	alone     bool                // test hook: every batch takes the write lock alone
	onCommit  func(time.Duration) // see WithCommitObserver
	limits    Limits              // see quota.go

	feedOnce sync.Once   // starts feed; see watch.go
	feed     *changeFeed // LISTENs for changes and credentials (PostgreSQL)
	// credLocal counts this store's committed credential changes
	// (PostgreSQL); see CredentialStamp.
	credLocal atomic.Uint64

	lockPoolOnce sync.Once     // makes lockPool; see maildrop.go
	lockPool     *pgxpool.Pool // POP3 maildrop lock connections (PostgreSQL)
	lockPoolErr  error
}

// Option configures Open.
type Option func(*Store)

// WithClock replaces time.Now, so tests can move time (grant expiry,
// throttling, queue retries).
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// Open opens (and creates or migrates) the store file at path. The
// directory must exist: a missing data directory is an operator error,
// not something to paper over by creating it in the wrong place.
func Open(path string, opts ...Option) (*Store, error) {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("store: data directory %s: %w (create it or set data_dir)", dir, errors.Unwrap(err))
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("store: data directory %s is not a directory (set data_dir)", dir)
	}
	if err := checkWritable(dir, path); err != nil {
		return nil, err
	}
	s := newStore(DriverSQLite, "", opts)
	s.path = path
	// _stmt_cache_size keeps each connection's prepared statements for
	// reuse: the same few queries run for every SMTP command and every
	// delivery, and parsing them anew each time was a visible share of
	// smtpd's CPU per message.
	dsn := fmt.Sprintf("file:%s?_busy_timeout=%d&_journal_mode=WAL&_synchronous=FULL&_foreign_keys=on&_stmt_cache_size=%d",
		path, busyTimeout.Milliseconds(), stmtCacheSize)
	var err error
	if s.w, err = sql.Open("sqlite3", dsn+"&_txlock=immediate"); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	// The readers open after the migration: query_only could not create
	// the file's WAL index before the schema exists.
	if err := s.migrate(); err != nil {
		s.w.Close()
		return nil, err
	}
	if s.r, err = sql.Open("sqlite3", dsn+"&_txlock=deferred&_query_only=true"); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s.r.SetMaxOpenConns(8)
	s.r.SetMaxIdleConns(8)
	if err := s.start(); err != nil {
		s.w.Close()
		s.r.Close()
		return nil, err
	}
	return s, nil
}

// newStore is a Store of the given backend with opts applied, not yet
// connected.
func newStore(driver, dsn string, opts []Option) *Store {
	s := &Store{driver: driver, dsn: dsn, now: time.Now,
		migrations: embeddedMigrations, migDir: "migrations/" + driver,
		accepts: make(chan *acceptReq), quit: make(chan struct{}),
		notifyReq: make(chan struct{}, 1)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// start completes a migrated store and starts the committer.
func (s *Store) start() error {
	if err := s.ensureCredStamp(); err != nil {
		return err
	}
	s.committer.Add(1)
	go s.commitLoop()
	if s.postgres() {
		s.committer.Add(1)
		go s.notifyLoop()
	}
	return nil
}

// Close stops the committer (after the batch it is committing, whose
// callers get their answer) and closes the store. Accept then fails with
// ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.quit) })
	s.committer.Wait()
	s.closeFeed()
	s.closeMaildropPool()
	errW := s.w.Close()
	errR := s.r.Close()
	return errors.Join(errW, errR)
}

// Path is the store file's path, or "" for a PostgreSQL store (see DSN),
// so that nothing mistakes it for a file.
func (s *Store) Path() string {
	if s.postgres() {
		return ""
	}
	return s.path
}

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

func (s *Store) unix() int64 { return s.now().Unix() }

// write runs fn in one IMMEDIATE transaction on the writer connection and
// commits it durably (synchronous=FULL). A busy database is retried: with
// WAL and a busy timeout this is rare, but it must never reach a caller as
// "database is locked". The wait for the lock ends with ctx (see writer).
// Changes that may be lost at a power failure, but never half-applied,
// use writeLazy instead.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	w, err := s.takeWriter(ctx)
	if err != nil {
		return err
	}
	defer w.release()
	return w.run(ctx, fn)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkWritable makes sure this process may write the store: the folder
// (SQLite creates the -wal and -shm files there) and each file that
// exists. SQLite would otherwise open a read-only file quietly and every
// later write would fail, so a daemon would report ready and then refuse
// every login. A store created by root with mailctl is the usual cause.
func checkWritable(dir, path string) error {
	for _, p := range []string{dir, path, path + "-wal", path + "-shm"} {
		err := unix.Access(p, unix.W_OK)
		if err == nil || (p != dir && errors.Is(err, unix.ENOENT)) {
			continue
		}
		return fmt.Errorf("store: %s is not writable by uid %d: %w (chown it to the user the daemons run as)",
			p, os.Geteuid(), err)
	}
	return nil
}
