package main

// implementation is the IMPLEMENTATION capability value.
const implementation = "mailsuite-pop3d"

// cmdCAPA lists capabilities (RFC 2449). Login mechanisms are listed only
// when a login would be accepted (RFC 2595: not before TLS unless
// plaintext is allowed), in both states: RFC 2449 section 5 asks that the
// capabilities of the AUTHORIZATION state be announced in the TRANSACTION
// state too, so a client that asks after login learns how it logged in.
// STLS is listed only before TLS and before login, where it can be used.
func (s *session) cmdCAPA(c command) bool {
	if !s.wantArgs(c, 0, 0) {
		return true
	}
	s.ok("capability list follows")
	s.reply("TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\nLOGIN-DELAY 0")
	if s.loginAllowed() {
		s.reply("USER\r\nSASL PLAIN LOGIN")
	}
	if s.state == stateAuthorization && !s.tls && s.srv.tls != nil {
		s.reply("STLS")
	}
	s.reply("IMPLEMENTATION %s\r\n.", implementation)
	return true
}
