package daemon

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
