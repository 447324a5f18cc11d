package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// giveToDataDirOwner hands a store that root just created (mail.db and
// its -wal and -shm files) to the owner of the data directory, the user
// the daemons run as: a root-owned mail.db would stop them at their next
// start ("cannot write"). It does nothing unless mailctl runs as root and
// the directory belongs to someone else; a store that existed keeps its
// owner, since mailctl never calls this for it.
func giveToDataDirOwner(dbPath string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(filepath.Dir(dbPath))
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-shm"} {
		err := os.Lchown(p, int(st.Uid), int(st.Gid))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("give %s to the data directory's owner: %w", p, err)
		}
	}
	return nil
}

// exists reports whether path names a file; an error other than "does not
// exist" counts as existing, so mailctl never changes the owner of a file
// it could not look at.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
