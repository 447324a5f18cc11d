package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"mailsuite/store"
)

// TestRelayCheck checks what "relay check" prints and its exit status.
// That its verdicts are smtpd's is TestRelayCheckAgreesWithSessions (in
// smtpd), which compares it with real sessions.
func TestRelayCheck(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.ok("long enough\n", "user", "add", "a@example.com", "--password-stdin")
	e.ok("long enough\n", "user", "add", "b@example.com", "--password-stdin", "--no-smtp")
	e.ok("", "alias", "add", "info@example.com", "a@example.com")
	st := e.openStore()
	if err := st.Grant(context.Background(), "127.0.0.9", e.user("a@example.com").ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	grants, err := st.LiveGrants(context.Background(), "127.0.0.9")
	if err != nil || len(grants) != 1 {
		t.Fatalf("grants %v, %v", grants, err)
	}
	until := grants[0].Expires.UTC().Format(time.RFC3339)

	// The grant relays for its user's alias.
	out := e.ok("", "relay", "check", "127.0.0.9", "<info@example.com>", "x@far.test")
	want := lines(
		"MAIL FROM:<info@example.com>\t250 2.0.0 Roger, accepting mail from <info@example.com>\trule 2",
		"RCPT TO:<x@far.test>\t250 2.0.0 I'll make sure <x@far.test> gets this\trule 2",
		"result\taccepted", "port\tmx", "sender_check\tstrict",
		"grant\ta@example.com\tuntil "+until+"\tsmtp=on",
		"delivery\tlocal_domain=no\tknown=no\tusers=-\tremote=x@far.test",
		"sending\ta@example.com\tmessages-per-hour=0/500 (default)\trecipients-per-day=0/2000 (default)\t"+
			"new-recipients-per-day=0/300 (default)\tbounces-per-hour=0/50 (default)\tsuspended=no")
	if out != want {
		t.Errorf("granted relay:\n%s\nwant\n%s", out, want)
	}

	// Another address: refused at RCPT, exit 1, the reason on stderr.
	out, errs, code := e.exec("", "relay", "check", "127.0.0.8", "a@example.com", "x@far.test")
	if code != 1 || errs != "mailctl: refused at RCPT (rule 2)\n" ||
		!strings.Contains(out, "RCPT TO:<x@far.test>\t554 5.7.1 <x@far.test>: relay access denied") ||
		!strings.Contains(out, "grant\t-\n") {
		t.Errorf("no grant: exit %d, stderr %q, stdout\n%s", code, errs, out)
	}

	// A credential without SMTP authority stops at AUTH, rule 2.
	out, _, code = e.exec("", "relay", "check", "127.0.0.8", "b@example.com", "a@example.com",
		"--auth", "b@example.com", "--port", "submission")
	if code != 1 || !strings.HasPrefix(out, "AUTH\t535 5.7.8 This account may not send mail") ||
		strings.Contains(out, "MAIL FROM") || !strings.Contains(out, "credential\tb@example.com\tuser\tsmtp=off") {
		t.Errorf("no-SMTP credential: exit %d\n%s", code, out)
	}

	// b reads mail from 127.0.0.7 (a known device) but may not send:
	// told so, not to log in first.
	lim := store.ThrottleLimits{Window: time.Minute, PerIP: 10, PerAccount: 5, KnownFor: time.Hour}
	att, err := st.ReserveAttempt(context.Background(), "127.0.0.7", "b@example.com", lim)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AttemptSucceeded(context.Background(), att, "pop3"); err != nil {
		t.Fatal(err)
	}
	out, _, code = e.exec("", "relay", "check", "127.0.0.7", "b@example.com", "x@far.test", "--port", "submission")
	if code != 1 || !strings.HasPrefix(out, "MAIL FROM:<b@example.com>\t530 5.7.0 Sending is disabled for this account\trule 2\n") {
		t.Errorf("sending disabled: exit %d\n%s", code, out)
	}

	// Null sender on submission after AUTH; --json.
	out, _, code = e.exec("", "relay", "check", "127.0.0.8", "<>", "a@example.com",
		"--auth", "A@Example.com", "--port", "submission", "--json")
	type step struct {
		Code     int
		Enhanced string
		Rule     string
	}
	var rep struct {
		Accepted         bool
		Auth, Mail, Rcpt *step
		Credential       credFact
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if code != 1 || rep.Accepted || rep.Auth.Code != 235 || rep.Mail.Code != 553 || rep.Mail.Enhanced != "5.7.1" ||
		rep.Mail.Rule != "rule 4" || rep.Rcpt != nil ||
		rep.Credential.Login != "a@example.com" || strings.Join(rep.Credential.Senders, ",") != "info@example.com" {
		t.Errorf("null sender on submission: exit %d\n%s", code, out)
	}

	// Unknown login, smuggled route, local recipient unknown.
	out, _, _ = e.exec("", "relay", "check", "127.0.0.8", "a@example.com", "x@far.test", "--auth", "nobody@example.com")
	if !strings.HasPrefix(out, "AUTH\t535 5.7.8 Authentication failed\tauth\n") {
		t.Errorf("unknown login:\n%s", out)
	}
	out, _, _ = e.exec("", "relay", "check", "127.0.0.8", "x@spam.test", "x%far.test@example.com")
	if !strings.Contains(out, "RCPT TO:<x%far.test@example.com>\t553 5.1.3 Address not accepted") || !strings.Contains(out, "\trule 5\n") {
		t.Errorf("percent hack:\n%s", out)
	}
	out, _, _ = e.exec("", "relay", "check", "127.0.0.8", "x@spam.test", "nobody@example.com")
	if !strings.Contains(out, "550 5.1.1 <nobody@example.com>: user unknown\trule 1\n") {
		t.Errorf("unknown user:\n%s", out)
	}

	// Over its sending limit: the 450 smtpd gives at RCPT TO (saying the
	// account gets suspended, as relay.suspend_on_limit is on), and the
	// limits, usage and suspension of the account. A local recipient is
	// not counted.
	e.ok("", "user", "limits", "a@example.com", "--messages-per-hour", "1")
	sent := []string{"y@far.test"}
	env := store.Envelope{From: "a@example.com", Remote: sent,
		Sending: &store.Sending{Account: "a@example.com", IP: "127.0.0.9", Subject: "hi", Rcpts: sent, Fresh: sent}}
	if err := st.Accept(context.Background(), env, []byte("Subject: hi\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	out, errs, code = e.exec("", "relay", "check", "127.0.0.9", "a@example.com", "x@far.test")
	if code != 1 || errs != "mailctl: refused at RCPT (limits)\n" ||
		!strings.Contains(out, "RCPT TO:<x@far.test>\t450 4.7.1 Sending limit reached for a@example.com: 1 messages per hour; it resets at ") ||
		!strings.Contains(out, "; sending is suspended until the administrator restores it\tlimits\n") ||
		!strings.Contains(out, "sending\ta@example.com\tmessages-per-hour=1/1 (own)\trecipients-per-day=1/2000 (default)\t") {
		t.Errorf("over the limit: exit %d, stderr %q, stdout\n%s", code, errs, out)
	}
	if out := e.ok("", "relay", "check", "127.0.0.9", "a@example.com", "info@example.com"); strings.Contains(out, "sending\t") {
		t.Errorf("local recipient over the limit:\n%s", out)
	}

	e.fail(2, "invalid IP address", "", "relay", "check", "not-an-ip", "a@example.com", "x@far.test")
	e.fail(2, "--port is mx or submission", "", "relay", "check", "127.0.0.1", "a@example.com", "x@far.test", "--port", "25")
	e.fail(2, "missing operand", "", "relay", "check", "127.0.0.1", "a@example.com")
	// 1 is the answer "refused": a broken configuration is not.
	e.writeConfig("hostname = \"mail.test\"\ndata_dir = \"data\"\n[relay]\nsender_check = \"loose\"\n")
	e.fail(2, "relay.sender_check", "", "relay", "check", "127.0.0.1", "a@example.com", "x@far.test")
	e.fail(1, "relay.sender_check", "", "domain", "list")
}
