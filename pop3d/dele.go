package main

// cmdDELE marks a message deleted; it is removed at QUIT.
func (s *session) cmdDELE(c command) bool {
	if !s.wantArgs(c, 1, 1) {
		return true
	}
	if i, ok := s.message(c.args[0]); ok {
		s.drop.deleted[i] = true
		s.ok("message %d deleted", i+1)
	}
	return true
}

// cmdRSET unmarks every message marked deleted.
func (s *session) cmdRSET(c command) bool {
	if !s.wantArgs(c, 0, 0) {
		return true
	}
	s.drop.reset()
	n, size := s.drop.stat()
	s.ok("maildrop has %d messages (%d octets)", n, size)
	return true
}

func (s *session) cmdNOOP(c command) bool {
	if !s.wantArgs(c, 0, 0) {
		return true
	}
	s.ok("")
	return true
}
