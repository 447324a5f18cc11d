package tlsconf

import (
	"crypto/x509"
	"fmt"
	"os"
)

// LoadRoots returns the trust store tls.ca_file names, for verifying the
// servers smtpd connects to (MTA-STS policy hosts, and MX hosts under an
// enforced MTA-STS policy): nil, meaning the system's roots, when path is
// empty; otherwise the PEM certificates in path and only those.
func LoadRoots(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, pathErr(err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}
