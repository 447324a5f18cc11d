-- Sending limits and suspension (schema version 6).

-- Overrides of the relay.max_* sending limits: NULL takes the default (for
-- a user the domain's override, else the configuration), 0 is unlimited.
-- A domain's values also bound its domain-level credential.
ALTER TABLE users ADD COLUMN limit_messages_per_hour INTEGER;
ALTER TABLE users ADD COLUMN limit_recipients_per_day INTEGER;
ALTER TABLE users ADD COLUMN limit_new_recipients_per_day INTEGER;
ALTER TABLE domains ADD COLUMN limit_messages_per_hour INTEGER;
ALTER TABLE domains ADD COLUMN limit_recipients_per_day INTEGER;
ALTER TABLE domains ADD COLUMN limit_new_recipients_per_day INTEGER;

-- Why SMTP authority was switched off automatically ('' = it was not), and
-- when. A suspended domain credential is refused like a user without SMTP
-- authority until a new password is set.
ALTER TABLE users ADD COLUMN suspended TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN suspended_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN suspended TEXT NOT NULL DEFAULT '';
ALTER TABLE domains ADD COLUMN suspended_at INTEGER NOT NULL DEFAULT 0;

-- What each account (a user's address, or a domain name for its
-- credential) sent in fixed windows: 'messages' and 'bounces' (received
-- from <>) per clock hour, 'recipients' and 'new_recipients' per UTC day;
-- since is the window's start. Written in the delivery's transaction, so
-- every smtpd process counts in the same rows; old windows are pruned as
-- the account sends. recent, on 'messages' rows, lists the window's latest
-- messages for the notice a suspension sends, newest first, one per line
-- ("UNIX-TIME IP SUBJECT"), cut short so the row stays on its page: the
-- page the count writes anyway.
CREATE TABLE send_counts (
    account TEXT NOT NULL,
    kind    TEXT NOT NULL,
    since   INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    recent  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account, kind, since)
) WITHOUT ROWID;

-- Every remote address an account has sent to, so that a first-time
-- recipient is one lookup.
CREATE TABLE sent_to (
    account TEXT NOT NULL,
    rcpt    TEXT NOT NULL,
    first   INTEGER NOT NULL,
    PRIMARY KEY (account, rcpt)
) WITHOUT ROWID;
