package store

import (
	"context"
	"errors"
	"testing"
)

// TestDKIMKeysOneActivePerAlgorithm: a domain's first key of an algorithm
// signs at once, later ones wait; using a key replaces only the active
// key of its own algorithm; the active key is removed only by force; a
// domain's removal takes its keys with it.
func TestDKIMKeysOneActivePerAlgorithm(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if err := s.AddDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	add := func(sel, alg string, wantActive bool) {
		t.Helper()
		active, err := s.AddDKIMKey(ctx, DKIMKey{Domain: "example.com", Selector: sel, Algorithm: alg, Private: []byte(sel)})
		if err != nil || active != wantActive {
			t.Fatalf("add %s: active %v, %v; want %v", sel, active, err, wantActive)
		}
	}
	signing := func() string {
		t.Helper()
		keys, err := s.SigningKeys(ctx, "example.com")
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, k := range keys {
			out += k.Selector + " "
		}
		return out
	}
	add("e1", "ed25519", true)
	add("r1", "rsa", true)
	add("r2", "rsa", false)
	if got := signing(); got != "r1 e1 " {
		t.Errorf("signing keys %q, want RSA first: r1 e1", got)
	}
	if err := s.UseDKIMKey(ctx, "example.com", "r2"); err != nil {
		t.Fatal(err)
	}
	if got := signing(); got != "r2 e1 " {
		t.Errorf("after use r2: %q, want r2 e1", got)
	}
	if err := s.RemoveDKIMKey(ctx, "example.com", "r2", false); !errors.Is(err, ErrDKIMKeyActive) {
		t.Errorf("remove the active key: %v, want ErrDKIMKeyActive", err)
	}
	if err := s.RemoveDKIMKey(ctx, "example.com", "r1", false); err != nil {
		t.Errorf("remove an inactive key: %v", err)
	}
	if _, err := s.AddDKIMKey(ctx, DKIMKey{Domain: "example.com", Selector: "e1", Algorithm: "rsa", Private: []byte("x")}); !errors.Is(err, ErrExists) {
		t.Errorf("a selector twice: %v, want ErrExists", err)
	}
	if _, err := s.AddDKIMKey(ctx, DKIMKey{Domain: "nope.test", Selector: "s", Algorithm: "rsa", Private: []byte("x")}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown domain: %v, want ErrNotFound", err)
	}
	if err := s.UseDKIMKey(ctx, "example.com", "zz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("use an unknown selector: %v, want ErrNotFound", err)
	}
	if err := s.RemoveDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	if keys, err := s.DKIMKeys(ctx, ""); err != nil || len(keys) != 0 {
		t.Errorf("after the domain's removal: %d keys, %v", len(keys), err)
	}
}
