//go:build cgo

package store

import (
	"errors"

	"github.com/mattn/go-sqlite3"
)

// isSQLiteBusy reports a lock held by another connection or process.
func isSQLiteBusy(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked
	}
	return false
}

// isSQLiteUnique reports a UNIQUE or PRIMARY KEY constraint violation.
func isSQLiteUnique(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrConstraint &&
		(se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey)
}
