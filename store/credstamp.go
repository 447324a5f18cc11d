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

// CredentialStamp identifies one version of the stamp file. The zero value
// means "unknown" and never equals a read stamp.
type CredentialStamp struct {
	ino, mtime int64
}

// CredentialStamp reads the current stamp. A session takes it before it
// checks a credential, and checks again whenever it differs.
//
// On PostgreSQL the stamp is always unknown: a file on one host would not
// see a change made on another, so every check is a full one there.
func (s *Store) CredentialStamp() CredentialStamp {
	if s.postgres() {
		return CredentialStamp{}
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
func (s *Store) touchCredentials() error {
	if s.postgres() {
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
