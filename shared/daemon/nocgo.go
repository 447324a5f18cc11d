//go:build !cgo

package daemon

import "errors"

// CheckCgo reports whether this binary can open the SQLite store, which
// needs cgo (mattn/go-sqlite3). Checking at start turns go-sqlite3's
// confusing runtime stub error into an instruction.
func CheckCgo() error {
	return errors.New("this binary was built with CGO_ENABLED=0; the SQLite store needs cgo: rebuild with CGO_ENABLED=1 and a C compiler")
}
