-- imapd: \Recent (RFC 3501 2.3.2). recent_uid is the highest UID of the
-- mailbox some session has already claimed as recent: the read-write
-- session that selects the mailbox (or sees new mail while it is selected)
-- claims every UID above it, atomically, so exactly one session sees a new
-- message as recent, across processes. Messages present before this
-- migration are not recent.
ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 0;
UPDATE mailboxes SET recent_uid = uidnext - 1;
