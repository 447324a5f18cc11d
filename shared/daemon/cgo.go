//go:build cgo

package daemon

// CheckCgo reports whether this binary can open the SQLite store, which
// needs cgo (mattn/go-sqlite3). This build has cgo.
func CheckCgo() error { return nil }
