-- Imports from another server (mailctl import, schema version 8).

-- A message's POP3 unique id as the server it was imported from served
-- it (Dovecot's default %08Xu%08Xv, or a uidlist P field), so a client that
-- leaves mail on the server does not download everything again after the
-- move. pop3d serves it instead of UIDVALIDITY.UID when a row exists.
CREATE TABLE imported_uidls (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    uidl       TEXT NOT NULL
);

-- The SHA-256 of every message imported from an mbox (which carries no
-- UIDs), per mailbox, so importing the same file again adds nothing. It
-- outlives the message: a message imported, then deleted by its user,
-- does not come back with the next import.
CREATE TABLE imported_digests (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    digest     BLOB NOT NULL,
    PRIMARY KEY (mailbox_id, digest)
) WITHOUT ROWID;
