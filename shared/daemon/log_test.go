package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"mailsuite/shared/auth"
)

func TestAuthLogFormat(t *testing.T) {
	var buf bytes.Buffer
	l := newLogger(&buf, "pop3d", slog.LevelInfo, false)
	auth.LogFailure(l, "pop3", "127.0.0.2", "a@b", "bad password")
	auth.LogSuccess(l, "pop3", "127.0.0.2", "a@b")
	want := `level=WARN msg="auth failed" daemon=pop3d proto=pop3 ip=127.0.0.2 user=a@b reason="bad password"` + "\n" +
		`level=INFO msg="auth ok" daemon=pop3d proto=pop3 ip=127.0.0.2 user=a@b` + "\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestAuthLogQuotesHostileUser(t *testing.T) {
	var buf bytes.Buffer
	l := newLogger(&buf, "smtpd", slog.LevelInfo, false)
	auth.LogFailure(l, "smtp", "192.0.2.1", "x\nlevel=WARN msg=\"auth failed\" ip=203.0.113.9", "unknown user")
	got := buf.String()
	// One line, and the first ip= field (the one fail2ban's regex anchors
	// on, right after proto=) is the real peer; the forged text stays
	// inside the quoted user value with its quotes escaped.
	if strings.Count(got, "\n") != 1 || !strings.Contains(got, " proto=smtp ip=192.0.2.1 user=\"x\\n") ||
		strings.Contains(got, ` msg="auth failed" ip=`) {
		t.Errorf("a client-chosen user name forged log fields: %q", got)
	}
}

func TestLoggerKeepsTimeAndLevel(t *testing.T) {
	var buf bytes.Buffer
	l := newLogger(&buf, "imapd", slog.LevelWarn, true)
	l.Info("hidden")
	l.Warn("shown")
	got := buf.String()
	if strings.Contains(got, "hidden") || !strings.HasPrefix(got, "time=") || !strings.Contains(got, "msg=shown daemon=imapd") {
		t.Errorf("got %q", got)
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"": slog.LevelInfo, "debug": slog.LevelDebug, "INFO": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError,
	} {
		if got, ok := parseLevel(in); !ok || got != want {
			t.Errorf("parseLevel(%q) = %v, %v", in, got, ok)
		}
	}
	if _, ok := parseLevel("loud"); ok {
		t.Error(`parseLevel("loud") accepted`)
	}
}

func TestNewLoggerFromEnv(t *testing.T) {
	t.Setenv(LogLevelEnv, "error")
	if l := NewLogger("smtpd"); l.Enabled(t.Context(), slog.LevelWarn) {
		t.Error("warn enabled at MAILSUITE_LOG_LEVEL=error")
	}
}
