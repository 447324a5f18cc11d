// Package dkimkey makes, reads and publishes DKIM keys (RFC 6376, RFC
// 8463): mailctl generates them and prints their DNS records, smtpd reads
// them to sign. The store keeps the private key as PKCS #8 DER.
package dkimkey

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
)

// Algorithms a key may use.
const (
	RSA     = "rsa"
	Ed25519 = "ed25519"
)

// rsaBits is the size of generated RSA keys: RFC 8301 requires at least
// 1024 and recommends 2048, which every verifier accepts and still fits
// in one DNS answer.
const rsaBits = 2048

// Generate returns a new private key of algorithm, PKCS #8 DER.
func Generate(algorithm string) ([]byte, error) {
	var key crypto.Signer
	var err error
	switch algorithm {
	case RSA:
		key, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case Ed25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("dkim: unknown algorithm %q (rsa or ed25519)", algorithm)
	}
	if err != nil {
		return nil, fmt.Errorf("dkim: generate %s key: %w", algorithm, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("dkim: encode %s key: %w", algorithm, err)
	}
	return der, nil
}

// Parse reads a stored private key and checks it is of algorithm.
func Parse(algorithm string, der []byte) (crypto.Signer, error) {
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("dkim: parse %s key: %w", algorithm, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if algorithm == RSA {
			return k, nil
		}
	case ed25519.PrivateKey:
		if algorithm == Ed25519 {
			return k, nil
		}
	}
	return nil, fmt.Errorf("dkim: stored key is a %T, not %s", key, algorithm)
}

// Name is the DNS name of a selector's key record.
func Name(selector, domain string) string {
	return selector + "._domainkey." + domain + "."
}

// Record returns the TXT record value that publishes the public half of
// a stored private key: "v=DKIM1; k=rsa; p=...".
func Record(algorithm string, der []byte) (string, error) {
	key, err := Parse(algorithm, der)
	if err != nil {
		return "", err
	}
	var pub []byte
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		// RFC 6376 §3.6.1: the SubjectPublicKeyInfo of the key.
		if pub, err = x509.MarshalPKIXPublicKey(k); err != nil {
			return "", fmt.Errorf("dkim: encode public key: %w", err)
		}
	case ed25519.PublicKey:
		// RFC 8463 §4.2: the raw 32 bytes, not wrapped.
		pub = k
	}
	return "v=DKIM1; k=" + algorithm + "; p=" + base64.StdEncoding.EncodeToString(pub), nil
}

// Quoted writes a TXT value as zone-file character strings of at most 255
// bytes each, the longest one DNS string holds: an RSA-2048 record needs
// two. Resolvers join them again (RFC 6376 §3.6.2.2).
func Quoted(value string) string {
	var parts []string
	for len(value) > 255 {
		parts = append(parts, `"`+value[:255]+`"`)
		value = value[255:]
	}
	parts = append(parts, `"`+value+`"`)
	return strings.Join(parts, " ")
}
