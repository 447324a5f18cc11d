package main

// cmdUIDL gives the unique id of one message, or of every message not
// marked deleted (RFC 1939).
func (s *session) cmdUIDL(c command) bool {
	if !s.wantArgs(c, 0, 1) {
		return true
	}
	if len(c.args) == 1 {
		if i, ok := s.message(c.args[0]); ok {
			s.ok("%d %s", i+1, s.drop.uidl(i))
		}
		return true
	}
	s.ok("unique-id listing follows")
	for i := range s.drop.msgs {
		if !s.drop.deleted[i] {
			s.reply("%d %s", i+1, s.drop.uidl(i))
		}
	}
	s.reply(".")
	return true
}
