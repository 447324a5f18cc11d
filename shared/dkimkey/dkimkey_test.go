package dkimkey

import (
	"strings"
	"testing"
)

func TestGenerateParseRecord(t *testing.T) {
	for _, alg := range []string{RSA, Ed25519} {
		der, err := Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(alg, der); err != nil {
			t.Errorf("Parse(%s): %v", alg, err)
		}
		other := map[string]string{RSA: Ed25519, Ed25519: RSA}[alg]
		if _, err := Parse(other, der); err == nil {
			t.Errorf("a %s key parsed as %s", alg, other)
		}
		rec, err := Record(alg, der)
		if err != nil || !strings.HasPrefix(rec, "v=DKIM1; k="+alg+"; p=") {
			t.Errorf("Record(%s) = %q, %v", alg, rec, err)
		}
	}
	if _, err := Generate("dsa"); err == nil {
		t.Error("Generate(dsa) succeeded")
	}
	if _, err := Parse(RSA, []byte("not a key")); err == nil {
		t.Error("Parse of garbage succeeded")
	}
}

func TestQuotedSplitsAt255(t *testing.T) {
	v := strings.Repeat("a", 255) + strings.Repeat("b", 10)
	if got, want := Quoted(v), `"`+strings.Repeat("a", 255)+`" "bbbbbbbbbb"`; got != want {
		t.Errorf("Quoted = %q, want %q", got, want)
	}
	if got := Quoted("short"); got != `"short"` {
		t.Errorf("Quoted(short) = %q", got)
	}
}
