-- Every transaction that can change a credential wakes the POP3 and IMAP
-- sessions of every host when it commits: a notification on
-- mailsuite_credentials moves the credential stamp of each listening
-- store (see CredentialStamp in credstamp.go), and a session re-reads its
-- credential only when the stamp moved. The triggers cover what
-- Credential reads (users: id, address, domain, hash, smtp; domains:
-- name, smtp_hash) and the suspensions, whoever writes them: mailctl,
-- the password API, a suspension by any host's smtpd. A rolled-back
-- change sends nothing. A re-hash at login (UpgradeUserHash) notifies
-- too: sessions then re-read once and find the hash they hold. Adding a
-- user or a domain changes no credential a session holds, and does not.
CREATE FUNCTION credentials_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mailsuite_credentials', '');
    RETURN NULL;
END $$;
CREATE TRIGGER users_credentials_notify
    AFTER UPDATE OF id, address, domain, hash, smtp, suspended OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION credentials_notify();
CREATE TRIGGER domains_credentials_notify
    AFTER UPDATE OF name, smtp_hash, suspended OR DELETE OR TRUNCATE ON domains
    FOR EACH STATEMENT EXECUTE FUNCTION credentials_notify();
