-- imapd: \Recent (RFC 3501 2.3.2). recent_uid is the highest UID of the
-- mailbox some session has already claimed as recent: the read-write
-- session that selects the mailbox (or sees new mail while it is selected)
-- claims every UID above it, atomically, so exactly one session sees a new
-- message as recent, across processes. Messages present before this
-- migration are not recent.
ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 0;
UPDATE mailboxes SET recent_uid = uidnext - 1;

-- Subscriptions of names that are not mailboxes (a subscribed mailbox that
-- was deleted, or a name subscribed before it exists): RFC 3501 6.3.6 and
-- RFC 5258 keep them, and LIST reports them \NonExistent. A mailbox's own
-- subscription is its subscribed column; creating the mailbox moves the
-- name's row there.
CREATE TABLE subscriptions (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);
