package auth

import "log/slog"

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
	MsgFailed    = "auth failed"
	MsgThrottled = "auth throttled"
	MsgRefused   = "auth refused"
	MsgOK        = "auth ok"
)

// LogFailure logs a failed login: a password that was checked and
// wrong, or a user that does not exist. ip is the TCP peer address
// without port (see daemon.PeerIP); reason is short and fixed, such as
// "bad password" or "unknown user".
func LogFailure(l *slog.Logger, proto, ip, user, reason string) {
	l.Warn(MsgFailed, "proto", proto, "ip", ip, "user", user, "reason", reason)
}

// LogThrottled logs a login refused by the throttle without a
// password check; reason says which limit ("address limit" or
// "account limit").
func LogThrottled(l *slog.Logger, proto, ip, user, reason string) {
	l.Warn(MsgThrottled, "proto", proto, "ip", ip, "user", user, "reason", reason)
}

// LogRefused logs a login refused before any password check for a
// reason other than the throttle, such as credentials sent before TLS.
// fail2ban does not match it: the client guessed nothing.
func LogRefused(l *slog.Logger, proto, ip, user, reason string) {
	l.Warn(MsgRefused, "proto", proto, "ip", ip, "user", user, "reason", reason)
}

// LogSuccess logs a successful login.
func LogSuccess(l *slog.Logger, proto, ip, user string) {
	l.Info(MsgOK, "proto", proto, "ip", ip, "user", user)
}
