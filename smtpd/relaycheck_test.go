package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"mailsuite/store"
)

// TestRelayCheckAgreesWithSessions runs every case of the relay battery
// twice: as a real session over a socket, and as "mailctl relay check"
// (the built binary) on the same store and configuration. The codes
// mailctl predicts at MAIL FROM and RCPT TO, and its exit status, must be
// what the session got. A last case goes past a sending limit.
func TestRelayCheckAgreesWithSessions(t *testing.T) {
	bin := buildBinary(t, "mailctl")
	e := newEnv(t)
	conf := filepath.Join(e.cfg.DataDir, "mailctl.toml")
	text := fmt.Sprintf("hostname = %q\ndata_dir = %q\n", e.cfg.Hostname, e.cfg.DataDir)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range relayBattery(e) {
		t.Run(tc.name, func(t *testing.T) {
			mailCode, rcptCode := runRelayCase(t, e, tc)
			relayCheckCodes(t, bin, conf, tc).want(t, mailCode, rcptCode)
		})
	}
	// mailctl asks first: the session's refusal suspends carol
	// (relay.suspend_on_limit), after which neither would get as far.
	t.Run("over the sending limit", func(t *testing.T) {
		one := int64(1)
		if err := e.st.SetUserLimits(context.Background(), carol, store.LimitOverrides{MessagesPerHour: &one}); err != nil {
			t.Fatal(err)
		}
		runRelayCase(t, e, relayCase{name: "carol's one message", port: "sub", tls: true, user: carol, pass: userPass,
			from: carol, rcpt: "victim@far.test", wantMail: 250, wantRcpt: 250})
		tc := relayCase{name: "carol's second message", port: "sub", tls: true, user: carol, pass: userPass,
			from: carol, rcpt: "other@far.test", wantMail: 250, wantRcpt: 450}
		check := relayCheckCodes(t, bin, conf, tc)
		mailCode, rcptCode := runRelayCase(t, e, tc)
		check.want(t, mailCode, rcptCode)
	})
}

// relayCheckResult is what "mailctl relay check --json" answered.
type relayCheckResult struct {
	codes    [2]int // MAIL FROM, RCPT TO; 0 when absent
	accepted bool
	status   int
	out      []byte
}

// relayCheckCodes runs "mailctl relay check --json" for tc.
func relayCheckCodes(t *testing.T, bin, conf string, tc relayCase) relayCheckResult {
	t.Helper()
	ip := tc.ip
	if ip == "" {
		ip = "127.0.0.1"
	}
	args := []string{"-config", conf, "relay", "check", ip, tc.from, tc.recipient(), "--json"}
	if tc.port != "mx" {
		args = append(args, "--port", "submission")
	}
	if tc.user != "" {
		args = append(args, "--auth", tc.user)
	}
	out, err := exec.Command(bin, args...).Output()
	r := relayCheckResult{out: out}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.status = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Accepted   bool
		Mail, Rcpt *struct{ Code int }
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("mailctl %v: %v\n%s", args, err, out)
	}
	r.accepted = rep.Accepted
	if rep.Mail != nil {
		r.codes[0] = rep.Mail.Code
	}
	if rep.Rcpt != nil {
		r.codes[1] = rep.Rcpt.Code
	}
	return r
}

// want fails unless r predicts the session's codes and exit status.
func (r relayCheckResult) want(t *testing.T, mailCode, rcptCode int) {
	t.Helper()
	accepted, wantStatus := rcptCode == 250, 1
	if accepted {
		wantStatus = 0
	}
	if r.codes != [2]int{mailCode, rcptCode} || r.accepted != accepted || r.status != wantStatus {
		t.Fatalf("session: MAIL %d RCPT %d; mailctl relay check: MAIL %d RCPT %d accepted=%v exit %d\n%s",
			mailCode, rcptCode, r.codes[0], r.codes[1], r.accepted, r.status, r.out)
	}
}
