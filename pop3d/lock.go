package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
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
	f      *os.File
	userID int64
}

// lockMaildrop takes the lock for userID, waiting up to wait for a
// session that is about to end (a client polling again right after its
// previous QUIT, or two devices polling at once) before giving up with
// errLocked. A session of this process that ends wakes the waiters at
// once; one in another process is noticed by polling.
func lockMaildrop(dir string, userID int64, wait time.Duration) (*maildropLock, error) {
	path := filepath.Join(dir, fmt.Sprintf("pop3-%d.lock", userID))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("maildrop lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		// Subscribe before trying, so a release between a failed try
		// and the wait is not missed.
		released := releases.wait(userID)
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &maildropLock{f: f, userID: userID}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("maildrop lock %s: %w", path, err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			f.Close()
			return nil, errLocked
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-released:
		case <-t.C:
		}
		t.Stop()
	}
}

// unlock releases the lock; closing the file drops it. Waiters in this
// process are woken.
func (l *maildropLock) unlock() {
	if l != nil {
		l.f.Close()
		releases.release(l.userID)
	}
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
