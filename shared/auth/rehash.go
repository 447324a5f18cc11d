package auth

import (
	"context"
	"strings"

	"mailsuite/store"
)

// needsRehash says whether a stored hash is of a scheme kept only for
// imported users (bcrypt, SHA-crypt): the next successful login replaces
// it with argon2id.
func needsRehash(hash string) bool {
	return !strings.HasPrefix(hash, "$argon2id$")
}

// upgrade re-hashes a user's imported password hash to argon2id after a
// successful login with pw, and returns the credential with the hash the
// store now has, so the session's later rechecks see no change. A
// failure is logged and the login stands with the old hash.
func (a *Authenticator) upgrade(ctx context.Context, cred store.Credential, pw string) store.Credential {
	if cred.Kind != store.CredUser || !needsRehash(cred.Hash) {
		return cred
	}
	h, err := HashPassword(pw)
	if err != nil {
		a.Log.Error("re-hash password", "user", cred.Name, "err", err)
		return cred
	}
	ok, err := a.Store.UpgradeUserHash(ctx, cred.Name, cred.Hash, h)
	if err != nil {
		a.Log.Error("re-hash password", "user", cred.Name, "err", err)
		return cred
	}
	if ok {
		a.Log.Info("password re-hashed to argon2id", "user", cred.Name)
		cred.Hash = h
	}
	return cred
}
