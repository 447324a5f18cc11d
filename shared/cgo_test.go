//go:build cgo

package shared

const cgoEnabled = true
