package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrMaildropLocked means another POP3 session, in this or another
// process, on this or another host, holds the maildrop.
var ErrMaildropLocked = errors.New("maildrop is locked by another session")

// ErrMaildropLockLost means a session's maildrop lock is gone, or cannot
// be shown to be still held: on PostgreSQL, the lock's connection died
// (server restart, failover, network cut, pg_terminate_backend) and the
// server dropped the lock with it, so another session may hold the
// maildrop now.
var ErrMaildropLockLost = errors.New("maildrop lock lost")

// maildropLockClass is the first key of the PostgreSQL advisory locks on
// maildrops (the two-key form, which never meets a one-key lock such as
// the store's write lock); the second key is the user ID.
const maildropLockClass = 0x706f7033 // "pop3"

// maildropLocker is one attempt at a maildrop's lock, held until close.
// Both kinds are released by the operating system or the server when the
// process dies (kill -9 included), so a crashed pop3d never leaves a
// maildrop locked. held checks, after try took the lock, that it still
// holds it.
type maildropLocker interface {
	try(ctx context.Context) (bool, error)
	held(ctx context.Context) error
	close()
}

// MaildropLock is a POP3 session's exclusive hold on a maildrop, taken
// by LockMaildrop. It is used by one goroutine at a time.
type MaildropLock struct {
	l        maildropLocker
	userID   int64
	released bool
}

// Held reports, as an error wrapping ErrMaildropLockLost, that the lock
// is no longer held: released, or on PostgreSQL its connection lost.
// A session checks before it acts on its exclusive access (POP3's UPDATE
// state), since PostgreSQL drops the lock with a dead connection and
// another host's session may have the maildrop by then. ctx bounds the
// check: a connection that does not answer in time counts as lost.
func (m *MaildropLock) Held(ctx context.Context) error {
	if m.released {
		return fmt.Errorf("store: maildrop of user #%d: %w: released", m.userID, ErrMaildropLockLost)
	}
	if err := m.l.held(ctx); err != nil {
		return fmt.Errorf("store: maildrop of user #%d: %w", m.userID, err)
	}
	return nil
}

// Release lets the maildrop go, and wakes the sessions of this process
// waiting for it. A second call does nothing; a lock Held found lost is
// released too (its connection is closed, not reused).
func (m *MaildropLock) Release() {
	if m.released {
		return
	}
	m.released = true
	m.l.close()
	releases.release(m.userID)
}

// LockMaildrop takes the exclusive lock on userID's maildrop for a POP3
// session (RFC 1939 section 8), waiting up to wait for a session that is
// about to end (a client polling again right after its previous QUIT, or
// two devices polling at once) before giving up with ErrMaildropLocked.
// A session of this process that ends wakes the waiters at once; one in
// another process is noticed by polling. The session calls Release when
// it ends.
//
// On SQLite the lock is an flock(2) on a file in the store's folder
// (locks/pop3-ID.lock); flock locks belong to the open file, so two
// sessions of one process exclude each other too. On PostgreSQL it is a
// session-level advisory lock on a connection held for the POP3 session,
// so it holds across hosts and ends when the connection does.
func (s *Store) LockMaildrop(ctx context.Context, userID int64, wait time.Duration) (*MaildropLock, error) {
	var err error
	var l maildropLocker
	if s.Driver() == DriverPostgres {
		var pool *pgxpool.Pool
		if pool, err = s.maildropPool(); err == nil {
			l, err = newPGMaildropLock(ctx, pool, userID)
		}
	} else {
		l, err = newFileMaildropLock(filepath.Join(filepath.Dir(s.path), "locks"), userID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: maildrop lock of user #%d: %w", userID, err)
	}
	if err := waitMaildrop(ctx, l, userID, wait); err != nil {
		l.close()
		if errors.Is(err, ErrMaildropLocked) {
			return nil, err
		}
		return nil, fmt.Errorf("store: maildrop lock of user #%d: %w", userID, err)
	}
	return &MaildropLock{l: l, userID: userID}, nil
}

// waitMaildrop tries l until it is taken, wait has passed or ctx ends.
func waitMaildrop(ctx context.Context, l maildropLocker, userID int64, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		// Subscribe before trying, so a release between a failed try
		// and the wait is not missed.
		released := releases.wait(userID)
		ok, err := l.try(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return ErrMaildropLocked
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-released:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		t.Stop()
	}
}

// fileMaildropLock is an exclusive flock(2) on a per-user file.
type fileMaildropLock struct{ f *os.File }

func newFileMaildropLock(dir string, userID int64) (*fileMaildropLock, error) {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("pop3-%d.lock", userID)), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &fileMaildropLock{f: f}, nil
}

func (l *fileMaildropLock) try(context.Context) (bool, error) {
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("flock %s: %w", l.f.Name(), err)
	}
	return true, nil
}

// held is always true: an flock lasts as long as the open file, which
// only close ends.
func (l *fileMaildropLock) held(context.Context) error { return nil }

// close drops the lock with the file.
func (l *fileMaildropLock) close() { l.f.Close() }

// pgMaildropLock is a session-level advisory lock on a connection held
// for the POP3 session alone: the lock lives at most as long as the
// connection, so a pop3d that dies, or loses its network, lets go of it.
//
// The connections come from a pool of their own (maildropPool): opening
// one per login cost tens of milliseconds (a server process and a
// password exchange), more than the rest of a POP3 session. A connection
// goes back to the pool only once its lock is released.
type pgMaildropLock struct {
	conn   *pgxpool.Conn
	userID int64
	lost   bool // held found the lock gone: close discards the connection
}

// Bounds of the pool of lock connections: at most one per logged-in POP3
// session (pop3d.max_connections bounds those, at 500 by default); an
// idle one closes after a while.
const (
	maildropPoolMax  = 500
	maildropPoolIdle = time.Minute
)

// maildropPool returns the store's pool of lock connections, creating it
// on first use: only pop3d holds any.
func (s *Store) maildropPool() (*pgxpool.Pool, error) {
	s.lockPoolOnce.Do(func() {
		cfg, err := pgxpool.ParseConfig(s.DSN())
		if err != nil {
			s.lockPoolErr = errors.New("cannot parse the connection string")
			return
		}
		cfg.MaxConns = maildropPoolMax
		cfg.MinConns = 0
		cfg.MaxConnIdleTime = maildropPoolIdle
		s.lockPool, s.lockPoolErr = pgxpool.NewWithConfig(context.Background(), cfg)
	})
	return s.lockPool, s.lockPoolErr
}

// closeMaildropPool closes the pool, if one was made. It does not wait:
// pgxpool's Close waits for the connections still held, and a session
// that holds its maildrop is the daemon's to end. Each closes when its
// session releases it.
func (s *Store) closeMaildropPool() {
	s.lockPoolOnce.Do(func() {}) // no pool may start after Close
	if s.lockPool != nil {
		go s.lockPool.Close()
	}
}

func newPGMaildropLock(ctx context.Context, pool *pgxpool.Pool, userID int64) (*pgMaildropLock, error) {
	if userID < 0 || userID > math.MaxInt32 {
		return nil, fmt.Errorf("user ID %d outside the advisory lock's key range", userID)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &pgMaildropLock{conn: conn, userID: userID}, nil
}

func (l *pgMaildropLock) try(ctx context.Context) (bool, error) {
	var ok bool
	err := l.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1::int4, $2::int4)`, maildropLockClass, l.userID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("advisory lock: %w", err)
	}
	return ok, nil
}

// held asks the lock's own connection whether its backend still holds
// the lock: a two-key advisory lock shows in pg_locks with the keys as
// classid and objid and objsubid 2. A failed query (the connection is
// dead, or does not answer within ctx) counts as a lost lock: exclusive
// access that cannot be shown must not be acted on (RFC 1939 section 8).
func (l *pgMaildropLock) held(ctx context.Context) error {
	var ok bool
	err := l.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
		WHERE locktype = 'advisory' AND classid = $1::int4::oid AND objid = $2::int4::oid
			AND objsubid = 2 AND pid = pg_backend_pid() AND granted)`,
		maildropLockClass, l.userID).Scan(&ok)
	switch {
	case err != nil:
		l.lost = true
		return fmt.Errorf("%w: connection: %w", ErrMaildropLockLost, err)
	case !ok:
		l.lost = true
		return fmt.Errorf("%w: no longer in pg_locks", ErrMaildropLockLost)
	}
	return nil
}

// close releases the lock (whether this attempt took it or not: an
// unlock of a lock not held only warns) and hands the connection back. A
// connection whose unlock fails, or whose lock held found lost, is
// closed instead, which drops whatever lock it still has.
func (l *pgMaildropLock) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !l.lost {
		var held bool
		err := l.conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1::int4, $2::int4)`, maildropLockClass, l.userID).Scan(&held)
		if err == nil {
			l.conn.Release()
			return
		}
	}
	l.conn.Conn().Close(ctx)
	l.conn.Release()
}

// releases tells sessions waiting for a maildrop that a session of this
// process has let it go.
var releases = releaseSignals{ch: map[int64]chan struct{}{}}

type releaseSignals struct {
	mu sync.Mutex
	ch map[int64]chan struct{} // closed at the next release; guarded by mu
}

// wait returns a channel closed at the next release of userID's maildrop.
func (r *releaseSignals) wait(userID int64) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.ch[userID]
	if !ok {
		c = make(chan struct{})
		r.ch[userID] = c
	}
	return c
}

func (r *releaseSignals) release(userID int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.ch[userID]; ok {
		close(c)
		delete(r.ch, userID)
	}
}
