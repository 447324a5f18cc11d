// Package tlsconf loads the daemons' certificate and key and serves them
// through a tls.Config that SIGHUP can reload.
package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"
)

// CertStore holds the daemon's certificate and swaps it on Reload, so a
// renewed certificate (certbot, acme.sh) takes effect on SIGHUP without
// dropping connections. Handshakes read the current certificate through
// GetCertificate.
type CertStore struct {
	certPath, keyPath string
	cert              atomic.Pointer[tls.Certificate]
}

// NewCertStore loads the certificate chain and key, failing if either is
// missing or they do not match.
func NewCertStore(cert, key string) (*CertStore, error) {
	c := &CertStore{certPath: cert, keyPath: key}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Load is NewCertStore(cert, key).Config() for callers that never reload.
func Load(cert, key string) (*tls.Config, error) {
	c, err := NewCertStore(cert, key)
	if err != nil {
		return nil, err
	}
	return c.Config(), nil
}

// Reload reads the files again. On error the previous certificate stays in
// use, so a half-finished renewal does not take TLS down.
func (c *CertStore) Reload() error {
	certPEM, err := os.ReadFile(c.certPath)
	if err != nil {
		return fmt.Errorf("tls: load certificate %s: %w%s", c.certPath, pathErr(err), fileHint(err))
	}
	keyPEM, err := os.ReadFile(c.keyPath)
	if err != nil {
		return fmt.Errorf("tls: load key %s: %w%s", c.keyPath, pathErr(err), fileHint(err))
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("tls: load certificate %s with key %s: %w (check that both are PEM and belong together)",
			c.certPath, c.keyPath, err)
	}
	c.cert.Store(&pair)
	return nil
}

// Certificate returns the certificate currently served.
func (c *CertStore) Certificate() *tls.Certificate {
	return c.cert.Load()
}

// Config returns a server TLS configuration (TLS 1.2 or later) that always
// serves the latest loaded certificate.
func (c *CertStore) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cert.Load(), nil
		},
	}
}

// pathErr keeps the underlying error of an *fs.PathError, whose path the
// message already names, while keeping errors.Is(err, fs.ErrNotExist).
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// fileHint tells the operator what to do about an unreadable file.
func fileHint(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return " (set [tls] cert and key in the config)"
	case errors.Is(err, fs.ErrPermission):
		return " (make it readable by the daemon's user)"
	}
	return ""
}
