package main

// cmdQUIT ends the session. After login it enters the UPDATE state: the
// messages marked deleted are removed in one transaction, all or none;
// then the maildrop lock is released, before the +OK, so a client that
// reconnects at once does not find its own maildrop still locked.
//
// Deletions are the one act that relies on exclusive access (RFC 1939
// section 8), so only they check first that the lock is still held (see
// lockLost). RETR, TOP and DELE do not: reads harm nobody, and DELE only
// marks a message in this session's view, which a lost lock at QUIT
// discards; a check per command would cost a round trip to PostgreSQL.
// The check narrows the window rather than closing it: a lock lost
// between the check and the commit (one round trip) goes unnoticed.
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
		if s.lockLost() {
			return false
		}
		ctx, cancel := s.op()
		err := s.srv.store.Expunge(ctx, s.drop.mailboxID, uids)
		cancel()
		if err != nil {
			s.log.Error("delete messages", "user", s.login, "err", err)
			s.fail("-ERR [SYS/TEMP] could not delete messages, none were deleted")
			return false
		}
	}
	s.lock.Release()
	n, _ := s.drop.stat()
	s.ok("%s POP3 server signing off (%d messages left, %d deleted)", s.srv.hostname, n, len(uids))
	return false
}

// lockLost reports whether the maildrop lock is gone (on PostgreSQL, its
// connection died and the server dropped it, so another host's session
// may hold the maildrop), and then replies and logs: the UPDATE state
// must not delete as if it had exclusive access. A lock that cannot be
// checked in time counts as lost.
func (s *session) lockLost() bool {
	ctx, cancel := s.op()
	err := s.lock.Held(ctx)
	cancel()
	if err == nil {
		return false
	}
	s.log.Warn("maildrop lock lost, nothing deleted", "user", s.login, "err", err)
	s.fail("-ERR [SYS/TEMP] maildrop lock lost; no messages deleted")
	return true
}
