package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailsuite/deploy/dev"
)

// servedCert returns the certificate the store's config serves.
func servedCert(t *testing.T, c *CertStore) *x509.Certificate {
	t.Helper()
	cfg := c.Config()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x", cfg.MinVersion)
	}
	cert, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func TestSelfSignedLoadAndReload(t *testing.T) {
	dir := t.TempDir()
	certPath := filepath.Join(dir, "tls", "fullchain.pem")
	keyPath := filepath.Join(dir, "tls", "privkey.pem")
	if err := dev.GenerateSelfSigned(certPath, keyPath, "mail.example.test"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode = %v, %v; want 0600", fi.Mode(), err)
	}

	store, err := NewCertStore(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	first := servedCert(t, store)
	for _, name := range []string{"mail.example.test", "localhost", "127.0.0.1", "::1"} {
		if err := first.VerifyHostname(name); err != nil {
			t.Errorf("certificate not valid for %s: %v", name, err)
		}
	}

	// A handshake with a client that trusts the certificate succeeds.
	roots := x509.NewCertPool()
	roots.AddCert(first)
	handshake(t, store.Config(), &tls.Config{RootCAs: roots, ServerName: "localhost"})

	if err := dev.GenerateSelfSigned(certPath, keyPath, "mail.example.test"); err != nil {
		t.Fatal(err)
	}
	if got := servedCert(t, store); got.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Error("certificate changed before Reload")
	}
	if err := store.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := servedCert(t, store); got.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Error("Reload did not change the served certificate")
	}

	// A failed reload keeps serving the last good certificate.
	second := servedCert(t, store)
	if err := os.WriteFile(certPath, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := store.Reload(); err == nil {
		t.Error("Reload of a garbage certificate succeeded")
	}
	if got := servedCert(t, store); got.SerialNumber.Cmp(second.SerialNumber) != 0 {
		t.Error("failed Reload replaced the certificate")
	}
}

func handshake(t *testing.T, server, client *tls.Config) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.(*tls.Conn).Handshake()
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.Close()
}

func TestLoadMissingFile(t *testing.T) {
	cert := filepath.Join(t.TempDir(), "fullchain.pem")
	_, err := Load(cert, cert+".key")
	if err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "tls: load certificate "+cert+": open: ") ||
		!strings.HasSuffix(msg, "(set [tls] cert and key in the config)") {
		t.Errorf("err = %q", msg)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("error does not wrap fs.ErrNotExist")
	}
}
