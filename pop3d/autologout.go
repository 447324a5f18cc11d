package main

import "time"

// progressCommands restart the autologout clock when they succeed: a
// login, STLS, and the commands that fetch or delete mail. NOOP, CAPA,
// STAT, LIST, UIDL, RSET and failed commands do not, so a client that
// repeats them cannot hold its connection, and the maildrop's lock, for
// longer than the autologout time (RFC 1939 section 3) past its last real
// work, as it could when every command restarted the clock.
var progressCommands = map[string]bool{
	"PASS": true, "AUTH": true, "STLS": true,
	"RETR": true, "TOP": true, "DELE": true,
}

// progressed restarts the autologout clock after a successful progress
// command; a successful command leaves no error counted.
func (s *session) progressed(cmd string) {
	if progressCommands[cmd] && s.errors == 0 {
		s.active = time.Now()
	}
}
