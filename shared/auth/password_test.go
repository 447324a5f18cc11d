package auth

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not a PHC argon2id string with the expected parameters", h)
	}
	if strings.Contains(h, "correct horse") {
		t.Error("hash contains the password")
	}
	if !CheckPassword(h, "correct horse") {
		t.Error("CheckPassword rejects the right password")
	}
	if CheckPassword(h, "correct horsE") || CheckPassword(h, "") {
		t.Error("CheckPassword accepts a wrong password")
	}
	h2, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if h == h2 {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

func TestCheckPasswordBcrypt(t *testing.T) {
	b, err := bcrypt.GenerateFromPassword([]byte("legacy"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	h := string(b) // $2a$
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		hp := prefix + h[4:]
		if !CheckPassword(hp, "legacy") {
			t.Errorf("%s hash rejected", prefix)
		}
		if CheckPassword(hp, "legacx") {
			t.Errorf("%s hash accepts a wrong password", prefix)
		}
	}
}

func TestCheckPasswordMalformed(t *testing.T) {
	good, err := HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	for _, bad := range []string{
		"", "pw", "$1$abc$def", "$argon2id$",
		strings.Replace(good, "v=19", "v=16", 1),
		strings.Replace(good, "m=19456", "m=99999999", 1), // memory bomb
		strings.Replace(good, "t=2", "t=0", 1),
		strings.Join(append(parts[:5:5], "!!!"), "$"),
	} {
		if CheckPassword(bad, "pw") {
			t.Errorf("CheckPassword(%q) matched", bad)
		}
	}
}

// TestDummyCheckCostsAsMuchAsARealCheck: DummyCheck must do the work of
// a real check, or its speed tells an attacker which accounts exist. The
// work of argon2id is set by its parameters and lengths, so those of the
// dummy hash must be those of a fresh one. (Timing it against a real
// check failed on busy machines.)
func TestDummyCheckCostsAsMuchAsARealCheck(t *testing.T) {
	h, err := HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	real, err := parseArgon2id(h)
	if err != nil {
		t.Fatal(err)
	}
	dummy, err := parseArgon2id(dummyHash())
	if err != nil {
		t.Fatalf("dummy hash %q: %v", dummyHash(), err)
	}
	if dummy.memory != real.memory || dummy.time != real.time || dummy.threads != real.threads ||
		len(dummy.salt) != len(real.salt) || len(dummy.key) != len(real.key) {
		t.Errorf("dummy hash %q costs differently from a real one %q", dummyHash(), h)
	}
	if CheckPassword(dummyHash(), "") || CheckPassword(dummyHash(), "pw") {
		t.Error("the dummy hash matched a password")
	}
}
