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

	"github.com/jackc/pgx/v5"
)

// ErrMaildropLocked means another POP3 session, in this or another
// process, on this or another host, holds the maildrop.
var ErrMaildropLocked = errors.New("maildrop is locked by another session")

// maildropLockClass is the first key of the PostgreSQL advisory locks on
// maildrops (the two-key form, which never meets a one-key lock such as
// the store's write lock); the second key is the user ID.
const maildropLockClass = 0x706f7033 // "pop3"

// maildropLocker is one attempt at a maildrop's lock, held until close.
// Both kinds are released by the operating system or the server when the
// process dies (kill -9 included), so a crashed pop3d never leaves a
// maildrop locked.
type maildropLocker interface {
	try(ctx context.Context) (bool, error)
	close()
}

// LockMaildrop takes the exclusive lock on userID's maildrop for a POP3
// session (RFC 1939 section 8), waiting up to wait for a session that is
// about to end (a client polling again right after its previous QUIT, or
// two devices polling at once) before giving up with ErrMaildropLocked.
// A session of this process that ends wakes the waiters at once; one in
// another process is noticed by polling. The session calls release when
// it ends.
//
// On SQLite the lock is an flock(2) on a file in the store's folder
// (locks/pop3-ID.lock); flock locks belong to the open file, so two
// sessions of one process exclude each other too. On PostgreSQL it is a
// session-level advisory lock on a connection held for the POP3 session,
// so it holds across hosts and ends when the connection does.
func (s *Store) LockMaildrop(ctx context.Context, userID int64, wait time.Duration) (release func(), err error) {
	var l maildropLocker
	if s.Driver() == DriverPostgres {
		l, err = newPGMaildropLock(ctx, s.DSN(), userID)
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
	var once sync.Once
	return func() {
		once.Do(func() {
			l.close()
			releases.release(userID)
		})
	}, nil
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

// close drops the lock with the file.
func (l *fileMaildropLock) close() { l.f.Close() }

// pgMaildropLock is a session-level advisory lock on a connection of its
// own, held for the POP3 session: the lock lives as long as the
// connection, so a pop3d that dies, or loses its network, lets go of it.
type pgMaildropLock struct {
	conn   *pgx.Conn
	userID int64
}

func newPGMaildropLock(ctx context.Context, dsn string, userID int64) (*pgMaildropLock, error) {
	if userID < 0 || userID > math.MaxInt32 {
		return nil, fmt.Errorf("user ID %d outside the advisory lock's key range", userID)
	}
	conn, err := pgx.Connect(ctx, dsn)
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

// close ends the connection, and with it the lock.
func (l *pgMaildropLock) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l.conn.Close(ctx)
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
