package main

// implementation is the IMPLEMENTATION capability value.
const implementation = "mailsuite-pop3d"

// cmdCAPA lists capabilities (RFC 2449). Login mechanisms are listed only
// when a login would be accepted now (RFC 2595: not before TLS unless
// plaintext is allowed), STLS only before TLS and before login.
func (s *session) cmdCAPA(c command) bool {
	if !s.wantArgs(c, 0, 0) {
		return true
	}
	s.ok("capability list follows")
	s.reply("TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\nLOGIN-DELAY 0")
	if s.state == stateAuthorization {
		if s.loginAllowed() {
			s.reply("USER\r\nSASL PLAIN LOGIN")
		}
		if !s.tls && s.srv.tls != nil {
			s.reply("STLS")
		}
	}
	s.reply("IMPLEMENTATION %s\r\n.", implementation)
	return true
}
