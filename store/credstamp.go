package store

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// credStampName is the file, next to mail.db, that is replaced after every
// committed change of a credential: a password, SMTP authority, a removed
// user, a domain credential. POP3 and IMAP sessions re-read their
// credential before each command only when the stamp moved, so the
// revocation check costs a stat per command instead of a query (a quarter
// of a RETR's time on a local client).
const credStampName = "credentials.stamp"

// CredentialStamp identifies one version of the stamp: of the file on
// SQLite, of the listening connection's count of credential changes on
// PostgreSQL (see changeFeed in watch.go). The zero value means
// "unknown" and never equals a read stamp.
type CredentialStamp struct {
	ino, mtime int64 // SQLite: the file
	// PostgreSQL: the feed's generation, never 0 once it listens, and
	// this store's own changes, which move the stamp at their commit
	// rather than when their notification comes back.
	feed, local uint64
}

// CredentialStamp reads the current stamp. A session takes it before it
// checks a credential, and checks again whenever it differs.
//
// On PostgreSQL a file on one host would not see a change made on
// another: the stamp is kept in memory by the store's listening
// connection, which every committed credential change notifies (a
// trigger, migration postgres/0004). It is unknown, so every check is a
// full one, until that connection listens and whenever it is down.
func (s *Store) CredentialStamp() CredentialStamp {
	if s.postgres() {
		feed := s.changeFeed().credentials()
		if feed == 0 {
			return CredentialStamp{}
		}
		return CredentialStamp{feed: feed, local: s.credLocal.Load()}
	}
	var st unix.Stat_t
	if err := unix.Stat(s.credStampPath(), &st); err != nil {
		return CredentialStamp{}
	}
	return CredentialStamp{ino: int64(st.Ino), mtime: st.Mtim.Nano()}
}

// Known reports whether the stamp was read; an unknown stamp makes every
// check a full one.
func (c CredentialStamp) Known() bool { return c != CredentialStamp{} }

func (s *Store) credStampPath() string {
	return filepath.Join(filepath.Dir(s.path), credStampName)
}

// touchCredentials replaces the stamp with a new file (a new inode, so
// two changes within the clock's resolution still differ). If that fails
// the stamp is removed, so sessions fall back to a full check per command
// rather than miss the change.
//
// On PostgreSQL the committed change has notified every host already (a
// trigger); this store's sessions see it at once here, without waiting
// for the notification to come back.
func (s *Store) touchCredentials() error {
	if s.postgres() {
		s.credLocal.Add(1)
		return nil
	}
	path := s.credStampPath()
	tmp, err := os.CreateTemp(filepath.Dir(path), credStampName+".*")
	if err == nil {
		tmp.Close()
		if err = os.Chmod(tmp.Name(), 0o644); err == nil {
			err = os.Rename(tmp.Name(), path)
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}
	if err != nil {
		if rerr := os.Remove(path); rerr != nil && !os.IsNotExist(rerr) {
			return fmt.Errorf("store: credential stamp: %w (and remove: %v)", err, rerr)
		}
	}
	return nil
}

// ensureCredStamp creates the stamp of a store that has none yet.
func (s *Store) ensureCredStamp() error {
	if s.postgres() || s.CredentialStamp().Known() {
		return nil
	}
	return s.touchCredentials()
}
