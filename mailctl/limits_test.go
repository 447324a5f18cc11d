package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestLimits: without flags "user limits" and "domain limits" print the
// limits in force with where each comes from; flags set them (print
// nothing), "default" takes one back, bad values are usage errors.
func TestLimits(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.ok("long enough\n", "user", "add", "a@example.com", "--password-stdin")
	const defaults = "\tmessages-per-hour=0/500 (default)\trecipients-per-day=0/2000 (default)\tnew-recipients-per-day=0/300 (default)"
	if got, want := e.ok("", "user", "limits", "A@example.com"), lines("a@example.com"+defaults+"\tbounces-per-hour=0/50 (default)\tsuspended=no"); got != want {
		t.Errorf("user limits = %q, want %q", got, want)
	}
	if got := e.ok("", "domain", "limits", "example.com", "--messages-per-hour", "20", "--new-recipients-per-day", "unlimited"); got != "" {
		t.Errorf("setting limits printed %q", got)
	}
	e.ok("", "user", "limits", "a@example.com", "--messages-per-hour=5", "--recipients-per-day", "0")
	if got, want := e.ok("", "user", "limits", "a@example.com"), lines("a@example.com\tmessages-per-hour=0/5 (own)\trecipients-per-day=0/unlimited (own)\tnew-recipients-per-day=0/unlimited (domain)\tbounces-per-hour=0/50 (default)\tsuspended=no"); got != want {
		t.Errorf("user limits = %q, want %q", got, want)
	}
	if got, want := e.ok("", "domain", "limits", "example.com"), lines("example.com\tmessages-per-hour=0/20 (domain)\trecipients-per-day=0/2000 (default)\tnew-recipients-per-day=0/unlimited (domain)\tsuspended=no"); got != want {
		t.Errorf("domain limits = %q, want %q", got, want)
	}
	e.ok("", "user", "limits", "a@example.com", "--messages-per-hour", "default")
	if got := e.ok("", "user", "limits", "a@example.com"); !strings.Contains(got, "messages-per-hour=0/20 (domain)") {
		t.Errorf("after default: %q", got)
	}

	st := e.openStore()
	ctx := context.Background()
	if _, err := st.SuspendUser(ctx, "a@example.com", "5 messages per hour"); err != nil {
		t.Fatal(err)
	}
	var r limitsRow
	if err := json.Unmarshal([]byte(e.ok("", "user", "limits", "a@example.com", "--json")), &r); err != nil {
		t.Fatal(err)
	}
	if r.Suspended != "5 messages per hour" || r.SuspendedAt == nil || r.Limits.MessagesPerHour != 20 || r.Source.MessagesPerHour != "domain" {
		t.Errorf("json %+v", r)
	}
	if got := e.ok("", "user", "list", "a@example.com"); !strings.Contains(got, "smtp=off") {
		t.Errorf("suspended user listed %q", got)
	}
	e.ok("", "user", "smtp", "a@example.com", "on")
	if s, err := st.SendingState(ctx, "a@example.com"); err != nil || s.Suspended != "" {
		t.Errorf("after user smtp on: suspended %q, %v", s.Suspended, err)
	}
	if u := e.user("a@example.com"); !u.SMTP {
		t.Error("user smtp on left SMTP authority off")
	}

	e.fail(2, "--messages-per-hour: want a count", "", "user", "limits", "a@example.com", "--messages-per-hour", "-3")
	e.fail(2, "--recipients-per-day: want a count", "", "user", "limits", "a@example.com", "--recipients-per-day", "lots")
	e.fail(1, "unknown user b@example.com", "", "user", "limits", "b@example.com")
	e.fail(1, "unknown user b@example.com", "", "user", "limits", "b@example.com", "--messages-per-hour", "1")
	e.fail(1, "unknown domain other.test", "", "domain", "limits", "other.test")
	e.fail(2, "does not take --messages-per-hour", "", "user", "quota", "a@example.com", "--messages-per-hour", "1")
}
