package shared

import (
	"io"
	"log/slog"
	"os"
	"strings"
)

// LogLevelEnv names the environment variable that sets the log level:
// debug, info (the default), warn or error.
const LogLevelEnv = "MAILSUITE_LOG_LEVEL"

// NewLogger returns the daemon's logger: logfmt text on stderr (journald
// stores it; the time is kept for runs outside systemd), every record tagged
// daemon=NAME so one journal or file can hold all three daemons.
func NewLogger(daemon string) *slog.Logger {
	level, ok := parseLevel(os.Getenv(LogLevelEnv))
	l := newLogger(os.Stderr, daemon, level, true)
	if !ok {
		l.Warn("unknown log level, using info", "env", LogLevelEnv, "value", os.Getenv(LogLevelEnv))
	}
	return l
}

// newLogger builds the handler; tests drop the time for stable output.
func newLogger(w io.Writer, daemon string, level slog.Leveler, withTime bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if !withTime {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(w, opts)).With("daemon", daemon)
}

// parseLevel maps the environment value to a level; empty means info.
func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return slog.LevelInfo, true
	case "debug":
		return slog.LevelDebug, true
	case "warn", "warning":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// Log lines that fail2ban filters match. The message strings are part of the
// operator contract: change them only together with deploy/'s filter.
//
//	level=WARN msg="auth failed" daemon=pop3d proto=pop3 ip=192.0.2.7 user=a@example.com reason="bad password"
//	level=INFO msg="auth ok" daemon=imapd proto=imap ip=192.0.2.7 user=a@example.com
//
// A fail2ban failregex for them is:
//
//	msg="auth failed" daemon=\S+ proto=\S+ ip=<HOST>
//
// Values are quoted by slog when they contain spaces, quotes or control
// characters, so a client-chosen user name cannot forge a second line or a
// different ip= field. Never pass a password here.
//
// A login refused by the throttle checked no password, so it is logged as
// "auth throttled", which the filter does not match: the owner of an
// account under attack is refused that way too and must not be banned.
const (
	MsgAuthFailed    = "auth failed"
	MsgAuthThrottled = "auth throttled"
	MsgAuthRefused   = "auth refused"
	MsgAuthOK        = "auth ok"
)

// LogAuthFailure logs a failed login: a password that was checked and
// wrong, or a user that does not exist. ip is the TCP peer address
// without port (see PeerIP); reason is short and fixed, such as
// "bad password" or "unknown user".
func LogAuthFailure(l *slog.Logger, proto, ip, user, reason string) {
	l.Warn(MsgAuthFailed, "proto", proto, "ip", ip, "user", user, "reason", reason)
}

// LogAuthThrottled logs a login refused by the throttle without a
// password check; reason says which limit ("address limit" or
// "account limit").
func LogAuthThrottled(l *slog.Logger, proto, ip, user, reason string) {
	l.Warn(MsgAuthThrottled, "proto", proto, "ip", ip, "user", user, "reason", reason)
}

// LogAuthRefused logs a login refused before any password check for a
// reason other than the throttle, such as credentials sent before TLS.
// fail2ban does not match it: the client guessed nothing.
func LogAuthRefused(l *slog.Logger, proto, ip, user, reason string) {
	l.Warn(MsgAuthRefused, "proto", proto, "ip", ip, "user", user, "reason", reason)
}

// LogAuthSuccess logs a successful login.
func LogAuthSuccess(l *slog.Logger, proto, ip, user string) {
	l.Info(MsgAuthOK, "proto", proto, "ip", ip, "user", user)
}
