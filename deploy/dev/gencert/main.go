// Command gencert writes a self-signed certificate and key for `make run`
// and the end-to-end tests, so a development start needs neither openssl
// nor a real certificate. It leaves an existing pair alone unless -force is
// given.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"mailsuite/deploy/dev"
)

func main() {
	cert := flag.String("cert", "", "certificate chain to write (PEM)")
	key := flag.String("key", "", "private key to write (PEM, mode 0600)")
	host := flag.String("host", "localhost", "host name the certificate is for")
	force := flag.Bool("force", false, "replace an existing certificate")
	flag.Parse()
	if *cert == "" || *key == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: gencert -cert PATH -key PATH [-host NAME] [-force]")
		os.Exit(2)
	}
	if !*force && exists(*cert) && exists(*key) {
		return
	}
	if err := dev.GenerateSelfSigned(*cert, *key, *host); err != nil {
		fmt.Fprintln(os.Stderr, "gencert:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gencert: wrote self-signed certificate for %s to %s\n", *host, *cert)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
