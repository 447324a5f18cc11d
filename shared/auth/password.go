package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2id parameters for new hashes, from the OWASP password storage cheat
// sheet (m=19 MiB, t=2, p=1): strong enough against offline guessing, cheap
// enough that a login costs tens of milliseconds. They are stored in each
// hash, so raising them later does not break existing passwords.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonSaltLen   = 16
	argonKeyLen    = 32
)

// Limits on parameters read back from a stored hash, so a corrupt or hostile
// row cannot make one login allocate gigabytes.
const (
	maxArgonMemoryKiB = 1 << 20 // 1 GiB
	maxArgonTime      = 16
)

var b64 = base64.RawStdEncoding

// hashSlots limits concurrent password checks to the number of CPUs: more
// would not finish sooner, only hold more memory.
var hashSlots = make(chan struct{}, runtime.NumCPU())

// HashPassword returns a PHC-format argon2id hash of pw:
// $argon2id$v=19$m=19456,t=2,p=1$SALT$HASH (unpadded standard base64).
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: read random salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches encoded, an argon2id PHC string
// or a bcrypt hash ($2a$, $2b$, $2y$, as imported from older systems). The
// comparison is constant-time. A malformed hash never matches.
func CheckPassword(encoded, pw string) bool {
	// Each argon2id check allocates its memory parameter (19 MiB): bound
	// how many run at once, so a burst of logins (or of guesses) costs CPU
	// time, not gigabytes of heap.
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		h, err := parseArgon2id(encoded)
		if err != nil {
			return false
		}
		key := argon2.IDKey([]byte(pw), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
		return subtle.ConstantTimeCompare(key, h.key) == 1
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		// bcrypt compares in constant time itself.
		return bcrypt.CompareHashAndPassword([]byte(encoded), []byte(pw)) == nil
	}
	return false
}

// DummyCheck spends as long as checking pw against a real hash, and is
// called when the user does not exist, so that response time does not tell
// an attacker which accounts exist.
func DummyCheck(pw string) {
	CheckPassword(dummyHash(), pw)
}

// dummyHash is a hash of a random password with the current parameters,
// made once on first use.
var dummyHash = sync.OnceValue(func() string {
	secret := make([]byte, 16)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails on supported platforms
	h, err := HashPassword(string(secret))
	if err != nil {
		panic(err) // unreachable: HashPassword fails only if rand.Read does
	}
	return h
})

// argon2idHash is a parsed PHC string.
type argon2idHash struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// parseArgon2id parses $argon2id$v=19$m=M,t=T,p=P$SALT$HASH.
func parseArgon2id(s string) (*argon2idHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return nil, errors.New("password: malformed argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return nil, fmt.Errorf("password: unsupported argon2 version %q", parts[2])
	}
	var h argon2idHash
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &h.threads); err != nil {
		return nil, fmt.Errorf("password: malformed argon2id parameters %q: %w", parts[3], err)
	}
	if h.time == 0 || h.threads == 0 || h.memory < 8*uint32(h.threads) ||
		h.memory > maxArgonMemoryKiB || h.time > maxArgonTime {
		return nil, fmt.Errorf("password: argon2id parameters out of range %q", parts[3])
	}
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil {
		return nil, fmt.Errorf("password: malformed argon2id salt: %w", err)
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 {
		return nil, errors.New("password: malformed argon2id hash value")
	}
	return &h, nil
}

// CheckNewPassword applies the rules for a password that mailctl is about
// to set for login (an address or a domain): at least minLen characters,
// no NUL, CR or LF (no protocol can send them), and not the login itself
// or its local part, the first guesses of anyone. Stored passwords are
// never checked against it, so a stricter rule locks nobody out.
func CheckNewPassword(pw, login string, minLen int) error {
	if strings.ContainsAny(pw, "\x00\r\n") {
		return errors.New("password: must not contain NUL, CR or LF")
	}
	if n := utf8.RuneCountInString(pw); n < minLen {
		return fmt.Errorf("password: %d characters, at least %d needed (auth.min_password_length)", n, minLen)
	}
	local, _, _ := strings.Cut(login, "@")
	if strings.EqualFold(pw, login) || strings.EqualFold(pw, local) {
		return errors.New("password: must not be the address or its local part")
	}
	return nil
}
