-- mailsuite store, schema version 1.
-- Times are Unix seconds (UTC) unless a column says otherwise.

-- Local domains, in canonical form: lower case, IDNA A-label (punycode).
-- smtp_hash is the domain-level credential (SMTP AUTH only); '' = disabled.
CREATE TABLE domains (
    name      TEXT PRIMARY KEY,
    smtp_hash TEXT NOT NULL DEFAULT '',
    created   INTEGER NOT NULL
);

-- Users: address is "localpart@domain", lower case, canonical domain.
CREATE TABLE users (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL UNIQUE,
    domain  TEXT NOT NULL REFERENCES domains(name),
    hash    TEXT NOT NULL,
    smtp    INTEGER NOT NULL DEFAULT 1,
    created INTEGER NOT NULL
);
CREATE INDEX users_domain ON users(domain);

-- Aliases: mail to source is delivered to target (a local user, another
-- alias, or a remote address).
CREATE TABLE aliases (
    source TEXT NOT NULL,
    domain TEXT NOT NULL REFERENCES domains(name),
    target TEXT NOT NULL,
    PRIMARY KEY (source, target)
);
CREATE INDEX aliases_target ON aliases(target);
CREATE INDEX aliases_domain ON aliases(domain);

-- Mailboxes. uidvalidity is unique across the store's history (taken from
-- meta.next_uidvalidity), so a re-created mailbox never reuses UIDs.
CREATE TABLE mailboxes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    special_use TEXT NOT NULL DEFAULT '',
    uidvalidity INTEGER NOT NULL,
    uidnext     INTEGER NOT NULL DEFAULT 1,
    subscribed  INTEGER NOT NULL DEFAULT 1,
    UNIQUE (user_id, name)
);

-- Messages. body is the raw message with CRLF line ends, kept last so
-- that scans of the other columns do not read its overflow pages.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid           INTEGER NOT NULL,
    flags         TEXT NOT NULL DEFAULT '',
    internal_date INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    body          BLOB NOT NULL,
    UNIQUE (mailbox_id, uid)
);

-- Relay grants (POP/IMAP-before-SMTP), keyed by the TCP peer address.
CREATE TABLE grants (
    ip      TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    PRIMARY KEY (ip, user_id)
);
CREATE INDEX grants_expires ON grants(expires);

-- Authentication failures, one row per failure; key is "ip:ADDR" or
-- "acct:NAME". Rows older than the throttle window are pruned.
CREATE TABLE auth_failures (
    key TEXT NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX auth_failures_key ON auth_failures(key, at);
CREATE INDEX auth_failures_at ON auth_failures(at);

-- The outbound queue: one row per message, one row per recipient.
CREATE TABLE queue (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    sender    TEXT NOT NULL,
    created   INTEGER NOT NULL,
    is_bounce INTEGER NOT NULL DEFAULT 0,
    body      BLOB NOT NULL
);
CREATE TABLE queue_rcpts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_id     INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
    rcpt         TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending', -- pending | sent | failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_error   TEXT NOT NULL DEFAULT '',
    -- For the bounce (RFC 3464): the host that gave last_error ('' when no
    -- server answered) and the enhanced status code, e.g. '5.1.1'.
    remote_mta   TEXT NOT NULL DEFAULT '',
    dsn_status   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX queue_rcpts_due ON queue_rcpts(status, next_attempt);
CREATE INDEX queue_rcpts_queue ON queue_rcpts(queue_id);

-- Leases: named locks with an expiry, e.g. the queue runner's, so two
-- processes never do the same work.
CREATE TABLE leases (
    name    TEXT PRIMARY KEY,
    holder  TEXT NOT NULL,
    expires INTEGER NOT NULL
);

-- The change log that other processes tail (imapd pushes it to IDLE
-- clients). Written by triggers, so every writer records its changes.
-- kind: 'new' | 'expunge' | 'flags' | 'mailbox'
CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox_id INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    uid        INTEGER NOT NULL DEFAULT 0,
    at         INTEGER NOT NULL DEFAULT (unixepoch())
);

CREATE TRIGGER messages_new AFTER INSERT ON messages BEGIN
    INSERT INTO changes (mailbox_id, kind, uid) VALUES (NEW.mailbox_id, 'new', NEW.uid);
END;
CREATE TRIGGER messages_expunge AFTER DELETE ON messages BEGIN
    INSERT INTO changes (mailbox_id, kind, uid) VALUES (OLD.mailbox_id, 'expunge', OLD.uid);
END;
CREATE TRIGGER messages_flags AFTER UPDATE OF flags ON messages
WHEN OLD.flags IS NOT NEW.flags BEGIN
    INSERT INTO changes (mailbox_id, kind, uid) VALUES (NEW.mailbox_id, 'flags', NEW.uid);
END;
CREATE TRIGGER mailboxes_change AFTER DELETE ON mailboxes BEGIN
    INSERT INTO changes (mailbox_id, kind) VALUES (OLD.id, 'mailbox');
END;

-- Store-wide counters.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('next_uidvalidity', unixepoch());

-- pop3d: a message's size as POP3 sends it (CRLF line ends), computed once
-- per message from its body, so a login lists sizes without reading bodies.
CREATE TABLE pop3_sizes (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    size       INTEGER NOT NULL
);
