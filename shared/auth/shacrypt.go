package auth

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"hash"
	"strconv"
	"strings"
)

// SHA-crypt ($5$ SHA-256, $6$ SHA-512), the glibc crypt(3) schemes that
// Dovecot calls SHA256-CRYPT and SHA512-CRYPT, as specified by Ulrich
// Drepper ("Unix crypt using SHA-256 and SHA-512", akkadia.org). Only
// checked, never produced: a user who logs in with one is re-hashed to
// argon2id.

const (
	shaCryptRoundsDefault = 5000
	shaCryptRoundsMin     = 1000
	// shaCryptRoundsMax is below the spec's 999999999: a stored hash
	// must not make one login spin for minutes.
	shaCryptRoundsMax = 1_000_000
	shaCryptSaltMax   = 16
)

// checkSHACrypt reports whether pw matches a $5$ or $6$ hash.
func checkSHACrypt(encoded, pw string) bool {
	want, ok := shaCrypt(encoded, pw)
	return ok && subtle.ConstantTimeCompare([]byte(want), []byte(encoded)) == 1
}

// shaCrypt computes the hash of pw with the parameters (scheme, rounds,
// salt) of setting, a full hash or its prefix.
func shaCrypt(setting, pw string) (string, bool) {
	var newHash func() hash.Hash
	var order []int
	var prefix string
	switch {
	case strings.HasPrefix(setting, "$5$"):
		newHash, order, prefix = sha256.New, sha256Order, "$5$"
	case strings.HasPrefix(setting, "$6$"):
		newHash, order, prefix = sha512.New, sha512Order, "$6$"
	default:
		return "", false
	}
	rest := setting[3:]
	rounds, custom := shaCryptRoundsDefault, false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		n, after, found := strings.Cut(r, "$")
		v, err := strconv.Atoi(n)
		if !found || err != nil || v < 1 {
			return "", false
		}
		rounds, custom, rest = max(v, shaCryptRoundsMin), true, after
		if rounds > shaCryptRoundsMax {
			return "", false
		}
	}
	salt, _, _ := strings.Cut(rest, "$")
	if len(salt) > shaCryptSaltMax {
		salt = salt[:shaCryptSaltMax]
	}
	sum := shaCryptSum(newHash, []byte(pw), []byte(salt), rounds)
	out := prefix
	if custom {
		out += "rounds=" + strconv.Itoa(rounds) + "$"
	}
	return out + salt + "$" + cryptB64(sum, order), true
}

// shaCryptSum is steps 1-21 of the specification.
func shaCryptSum(newHash func() hash.Hash, pw, salt []byte, rounds int) []byte {
	h := newHash()
	h.Write(pw)
	h.Write(salt)
	h.Write(pw)
	b := h.Sum(nil)

	h = newHash()
	h.Write(pw)
	h.Write(salt)
	h.Write(repeatTo(b, len(pw)))
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 == 1 {
			h.Write(b)
		} else {
			h.Write(pw)
		}
	}
	a := h.Sum(nil)

	h = newHash()
	for range len(pw) {
		h.Write(pw)
	}
	p := repeatTo(h.Sum(nil), len(pw))

	h = newHash()
	for range 16 + int(a[0]) {
		h.Write(salt)
	}
	s := repeatTo(h.Sum(nil), len(salt))

	c := a
	for i := range rounds {
		h = newHash()
		if i%2 == 1 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i%2 == 1 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}
	return c
}

// repeatTo repeats d to n bytes.
func repeatTo(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, d[:min(len(d), n-len(out))]...)
	}
	return out
}

// The byte order of the final encoding, in groups of three (the last
// group of each is shorter, see cryptB64).
var (
	sha256Order = []int{0, 10, 20, 21, 1, 11, 12, 22, 2, 3, 13, 23, 24, 4, 14, 15, 25, 5, 6, 16, 26, 27, 7, 17, 18, 28, 8, 9, 19, 29, 31, 30}
	sha512Order = []int{0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4, 47, 5, 26, 6, 27, 48, 28, 49, 7, 50, 8, 29, 9, 30, 51,
		31, 52, 10, 53, 11, 32, 12, 33, 54, 34, 55, 13, 56, 14, 35, 15, 36, 57, 37, 58, 16, 59, 17, 38, 18, 39, 60, 40, 61, 19, 62, 20, 41, 63}
)

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// cryptB64 encodes sum in crypt's base64: each group of three bytes
// (order[i], order[i+1], order[i+2]) as four characters, low bits first;
// the trailing one or two bytes as two or three.
func cryptB64(sum []byte, order []int) string {
	var out strings.Builder
	emit := func(w uint32, n int) {
		for range n {
			out.WriteByte(cryptAlphabet[w&0x3f])
			w >>= 6
		}
	}
	i := 0
	for ; i+3 <= len(order); i += 3 {
		emit(uint32(sum[order[i]])<<16|uint32(sum[order[i+1]])<<8|uint32(sum[order[i+2]]), 4)
	}
	switch len(order) - i {
	case 1:
		emit(uint32(sum[order[i]]), 2)
	case 2:
		emit(uint32(sum[order[i]])<<8|uint32(sum[order[i+1]]), 3)
	}
	return out.String()
}
