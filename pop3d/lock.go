package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// errLocked means another POP3 session, in this or another process, holds
// the maildrop.
var errLocked = errors.New("maildrop is locked by another session")

// maildropLock is an exclusive flock(2) on a per-user file. The kernel
// releases it when the file is closed or the process dies (kill -9
// included), so a crashed pop3d never leaves a maildrop locked. flock
// locks belong to the open file, so two sessions in one process also
// exclude each other.
type maildropLock struct {
	f *os.File
}

// lockMaildrop takes the lock for userID, waiting up to wait for a
// session that is about to end (a client polling again right after its
// previous QUIT, or two devices polling at once) before giving up with
// errLocked.
func lockMaildrop(dir string, userID int64, wait time.Duration) (*maildropLock, error) {
	path := filepath.Join(dir, fmt.Sprintf("pop3-%d.lock", userID))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("maildrop lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &maildropLock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("maildrop lock %s: %w", path, err)
		}
		if time.Now().Add(pause).After(deadline) {
			f.Close()
			return nil, errLocked
		}
		time.Sleep(pause)
	}
}

// unlock releases the lock; closing the file drops it.
func (l *maildropLock) unlock() {
	if l != nil {
		l.f.Close()
	}
}
