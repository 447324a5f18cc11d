package main

func (s *session) cmdSTAT(c command) bool {
	if !s.wantArgs(c, 0, 0) {
		return true
	}
	n, size := s.drop.stat()
	s.ok("%d %d", n, size)
	return true
}

// cmdLIST gives the size of one message, or of every message not marked
// deleted.
func (s *session) cmdLIST(c command) bool {
	if !s.wantArgs(c, 0, 1) {
		return true
	}
	if len(c.args) == 1 {
		if i, ok := s.message(c.args[0]); ok {
			s.ok("%d %d", i+1, s.drop.msgs[i].Size)
		}
		return true
	}
	n, size := s.drop.stat()
	s.ok("%d messages (%d octets)", n, size)
	for i, m := range s.drop.msgs {
		if !s.drop.deleted[i] {
			s.reply("%d %d", i+1, m.Size)
		}
	}
	s.reply(".")
	return true
}
