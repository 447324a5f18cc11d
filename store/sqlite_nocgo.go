//go:build !cgo

package store

// Without cgo the SQLite driver is a stub that fails every call; the
// daemons refuse to start before reaching it (daemon.CheckCgo). These
// keep the package compiling so that check can run.

func isSQLiteBusy(error) bool   { return false }
func isSQLiteUnique(error) bool { return false }
