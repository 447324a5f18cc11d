package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestRelayCheckAgreesWithSessions runs every case of the relay battery
// twice: as a real session over a socket, and as "mailctl relay check"
// (the built binary) on the same store and configuration. The codes
// mailctl predicts at MAIL FROM and RCPT TO, and its exit status, must be
// what the session got.
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
			var exit *exec.ExitError
			status := 0
			if errors.As(err, &exit) {
				status = exit.ExitCode()
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
			got := [2]int{}
			if rep.Mail != nil {
				got[0] = rep.Mail.Code
			}
			if rep.Rcpt != nil {
				got[1] = rep.Rcpt.Code
			}
			accepted, wantStatus := rcptCode == 250, 1
			if accepted {
				wantStatus = 0
			}
			if got != [2]int{mailCode, rcptCode} || rep.Accepted != accepted || status != wantStatus {
				t.Fatalf("session: MAIL %d RCPT %d; mailctl relay check: MAIL %d RCPT %d accepted=%v exit %d\n%s",
					mailCode, rcptCode, got[0], got[1], rep.Accepted, status, out)
			}
		})
	}
}
