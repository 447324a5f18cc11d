package main

import (
	"bufio"
	"crypto/tls"
	"testing"
)

func TestSTLS(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.starttls(e.certPool)
	c.cmd("STLS", "-ERR")
	c.cmd("USER "+testUser, "+OK")
	c.cmd("PASS "+testPass, "+OK")
	c.cmd("STLS", "-ERR")
}

func TestSTLSDiscardsPipelinedPlaintext(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	// A man in the middle appends a command after STLS; it must not be
	// read as if it came over TLS.
	c.send("STLS\r\nCAPA")
	c.expect("+OK")
	tc := tls.Client(c.conn, &tls.Config{ServerName: "localhost", RootCAs: e.certPool})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	c.cmd("NOOP", "-ERR NOOP is not valid before login")
}

func TestPOP3S(t *testing.T) {
	e := newEnv(t)
	conn, err := tls.Dial("tcp", e.tlsAddr, &tls.Config{ServerName: "localhost", RootCAs: e.certPool})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &testconn{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.expect("+OK")
	if got := capa(c); contains(got, "STLS") {
		t.Errorf("STLS offered on POP3S: %q", got)
	}
	c.cmd("STLS", "-ERR")
	c.cmd("USER "+testUser, "+OK")
	c.cmd("PASS "+testPass, "+OK")
	c.cmd("QUIT", "+OK")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
