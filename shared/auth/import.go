package auth

import (
	"errors"
	"fmt"
	"strings"
)

// ImportHash turns a password field of a Dovecot passwd-file into a hash
// CheckPassword accepts. {ARGON2ID}, {BLF-CRYPT}, {SHA512-CRYPT},
// {SHA256-CRYPT} (and {CRYPT} or no scheme, with a $2y$, $5$ or $6$
// value) are kept as they are, without the scheme tag; the login that
// first succeeds re-hashes them to argon2id. {PLAIN} is hashed now.
// Errors never quote the field: it is a secret.
func ImportHash(field string) (string, error) {
	scheme, value := "CRYPT", field
	if strings.HasPrefix(field, "{") {
		s, v, ok := strings.Cut(field[1:], "}")
		if !ok {
			return "", errors.New("unterminated {SCHEME}")
		}
		scheme, value = strings.ToUpper(s), v
	}
	var ok bool
	switch scheme {
	case "PLAIN":
		if value == "" {
			return "", errors.New("empty {PLAIN} password")
		}
		return HashPassword(value)
	case "ARGON2ID":
		_, err := parseArgon2id(value)
		ok = err == nil
	case "BLF-CRYPT":
		ok = isBcrypt(value)
	case "SHA512-CRYPT":
		ok = strings.HasPrefix(value, "$6$")
	case "SHA256-CRYPT":
		ok = strings.HasPrefix(value, "$5$")
	case "CRYPT":
		ok = isBcrypt(value) || strings.HasPrefix(value, "$5$") || strings.HasPrefix(value, "$6$")
	default:
		return "", fmt.Errorf("password scheme {%s} is not supported (reset the password with mailctl user passwd)", scheme)
	}
	if !ok {
		return "", fmt.Errorf("malformed {%s} hash", scheme)
	}
	if strings.HasPrefix(value, "$5$") || strings.HasPrefix(value, "$6$") {
		if _, valid := shaCrypt(value, ""); !valid {
			return "", fmt.Errorf("malformed {%s} hash", scheme)
		}
	}
	return value, nil
}

func isBcrypt(v string) bool {
	return len(v) == 60 && (strings.HasPrefix(v, "$2a$") || strings.HasPrefix(v, "$2b$") || strings.HasPrefix(v, "$2y$"))
}
