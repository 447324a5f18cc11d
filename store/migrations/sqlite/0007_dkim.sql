-- DKIM signing keys (RFC 6376), per local domain and selector. The private
-- key (PKCS #8, DER) lives here, in mail.db, which only the mailsuite user
-- may read. A domain signs with at most one active key per algorithm: an
-- RSA signature, and an Ed25519 one (RFC 8463) beside it when it has one.
-- A new key can wait inactive, published in DNS, until "mailctl dkim use"
-- makes it the signing one: selectors rotate without a gap.
CREATE TABLE dkim_keys (
    domain      TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE,
    selector    TEXT NOT NULL,
    algorithm   TEXT NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),
    private_key BLOB NOT NULL,
    active      INTEGER NOT NULL DEFAULT 0,
    created     INTEGER NOT NULL,
    PRIMARY KEY (domain, selector)
) WITHOUT ROWID;
CREATE UNIQUE INDEX dkim_keys_active ON dkim_keys(domain, algorithm) WHERE active;
