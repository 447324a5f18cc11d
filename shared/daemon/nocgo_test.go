//go:build !cgo

package daemon

const cgoEnabled = false
