-- Known devices: a client address that logged in to an account
-- successfully. While it is recent, the account's failure limit does not
-- refuse that address, so others guessing the password cannot lock the
-- owner out. account is the canonical login name (address or domain);
-- ip is the throttle key of the address (IPv6 by /64, see ClientKey).
CREATE TABLE known_devices (
    account TEXT NOT NULL,
    ip      TEXT NOT NULL,
    last    INTEGER NOT NULL,
    PRIMARY KEY (account, ip)
);
CREATE INDEX known_devices_last ON known_devices(last);

-- A login attempt is recorded before its password is checked: pending
-- until the check says it failed (0) or deletes the row (success).
ALTER TABLE auth_failures ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
