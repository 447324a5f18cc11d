package main

// cmdQUIT ends the session. After login it enters the UPDATE state: the
// messages marked deleted are removed in one transaction, all or none;
// then the maildrop lock is released, before the +OK, so a client that
// reconnects at once does not find its own maildrop still locked.
func (s *session) cmdQUIT(c command) bool {
	if !s.wantArgs(c, 0, 0) {
		return true
	}
	if s.state == stateAuthorization {
		s.ok("%s POP3 server signing off", s.srv.hostname)
		return false
	}
	uids := s.drop.deletedUIDs()
	if len(uids) > 0 {
		ctx, cancel := s.op()
		err := s.srv.store.Expunge(ctx, s.drop.mailboxID, uids)
		cancel()
		if err != nil {
			s.log.Error("delete messages", "user", s.login, "err", err)
			s.fail("-ERR [SYS/TEMP] could not delete messages, none were deleted")
			return false
		}
	}
	s.unlock()
	s.unlock = func() {}
	n, _ := s.drop.stat()
	s.ok("%s POP3 server signing off (%d messages left, %d deleted)", s.srv.hostname, n, len(uids))
	return false
}
