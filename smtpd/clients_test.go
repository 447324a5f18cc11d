package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailsuite/internal/testutil"
)

// These tests drive smtpd with the clients users have: Python's smtplib,
// swaks and msmtp. Each is skipped only when the client is not installed.

func hostPort(t *testing.T, addr string) (string, string) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

const smtplibScript = `
import smtplib, ssl, sys
host, port, mode, mech, user, pw, to, subject = sys.argv[1:9]
ctx = ssl._create_unverified_context()
if mode == "ssl":
    s = smtplib.SMTP_SSL(host, int(port), timeout=10, context=ctx)
else:
    s = smtplib.SMTP(host, int(port), timeout=10)
    s.starttls(context=ctx)
s.ehlo("python.test")
s.user, s.password = user, pw
ir = mech != "LOGIN-NOIR"
mech = mech.replace("-NOIR", "")
s.auth(mech, getattr(s, "auth_" + mech.lower()), initial_response_ok=ir)
msg = "From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nsent by smtplib\r\n" % (user, to, subject)
s.sendmail(user, [to], msg)
s.quit()
`

func TestPythonSmtplib(t *testing.T) {
	python := testutil.NeedClient(t, "python3")
	e := newEnv(t)
	cases := []struct{ name, addr, mode, mech string }{
		{"starttls plain", e.sub, "starttls", "PLAIN"},
		{"starttls login", e.sub, "starttls", "LOGIN"},
		{"starttls login without initial response", e.mx, "starttls", "LOGIN-NOIR"},
		{"implicit tls login", e.subs, "ssl", "LOGIN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			host, port := hostPort(t, tc.addr)
			to := "friend@far.test"
			out, err := exec.Command(python, "-c", smtplibScript, host, port, tc.mode, tc.mech,
				alice, userPass, to, "smtplib "+tc.name).CombinedOutput()
			if err != nil {
				t.Fatalf("smtplib: %v\n%s", err, out)
			}
			if !containsSubject(e.queued(to), "smtplib "+tc.name) {
				t.Fatalf("message not queued")
			}
		})
	}
	// A refused relay is reported to the script as an exception.
	host, port := hostPort(t, e.sub)
	out, err := exec.Command(python, "-c", smtplibScript, host, port, "starttls", "PLAIN",
		alice, "wrong", "friend@far.test", "refused").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "535") {
		t.Fatalf("bad password accepted: %v\n%s", err, out)
	}
}

func containsSubject(bodies []string, subject string) bool {
	for _, b := range bodies {
		if strings.Contains(b, "Subject: "+subject+"\r\n") {
			return true
		}
	}
	return false
}

func TestSwaks(t *testing.T) {
	swaks := testutil.NeedClient(t, "swaks")
	e := newEnv(t)
	run := func(args ...string) (string, error) {
		out, err := exec.Command(swaks, append([]string{"--timeout", "10"}, args...)...).CombinedOutput()
		return string(out), err
	}
	// Inbound to a local user, no auth.
	if out, err := run("--server", e.mx, "--from", "friend@far.test", "--to", alice,
		"--header", "Subject: swaks inbound"); err != nil {
		t.Fatalf("swaks inbound: %v\n%s", err, out)
	}
	if !containsSubject(e.inbox(alice), "swaks inbound") {
		t.Fatal("inbound message not delivered")
	}
	// Relay with STARTTLS and AUTH LOGIN.
	if out, err := run("--server", e.sub, "--tls", "--auth", "LOGIN", "--auth-user", alice,
		"--auth-password", userPass, "--from", alice, "--to", "friend@far.test",
		"--header", "Subject: swaks relay"); err != nil {
		t.Fatalf("swaks relay: %v\n%s", err, out)
	}
	if !containsSubject(e.queued("friend@far.test"), "swaks relay") {
		t.Fatal("relayed message not queued")
	}
	// Relay without auth is refused.
	out, err := run("--server", e.mx, "--from", alice, "--to", "friend@far.test")
	if err == nil || !strings.Contains(out, "554 5.7.1") {
		t.Fatalf("open relay! swaks: %v\n%s", err, out)
	}
}

func TestMsmtp(t *testing.T) {
	msmtp := testutil.NeedClient(t, "msmtp")
	e := newEnv(t)
	host, port := hostPort(t, e.sub)
	conf := filepath.Join(t.TempDir(), "msmtprc")
	err := os.WriteFile(conf, []byte(strings.Join([]string{
		"defaults", "tls on", "tls_starttls on", "tls_certcheck off", "timeout 10",
		"account test", "host " + host, "port " + port, "auth plain",
		"user " + alice, "password " + userPass, "from " + alice,
		"account default : test", ""}, "\n")), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(msmtp, "-C", conf, "friend@far.test", carol)
	cmd.Stdin = strings.NewReader("From: " + alice + "\nSubject: msmtp test\n\nHello from msmtp.\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("msmtp: %v\n%s", err, out)
	}
	if !containsSubject(e.queued("friend@far.test"), "msmtp test") || !containsSubject(e.inbox(carol), "msmtp test") {
		t.Fatal("msmtp message not stored for both recipients")
	}
}
