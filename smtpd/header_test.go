package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRemoveOurAuthResults(t *testing.T) {
	const host = "mx.example.com"
	tests := []struct {
		name, in, want string
	}{
		{"none", "Subject: x\r\n\r\n", "Subject: x\r\n\r\n"},
		{"ours", "Authentication-Results: mx.example.com; spf=pass\r\nSubject: x\r\n\r\n", "Subject: x\r\n\r\n"},
		{"folded, quoted, comment, case, dot",
			"A: 1\r\nAuthentication-Results: (c (nested) \\) x)\r\n \"MX.example.COM.\" 1;\r\n\tdkim=pass\r\nB: 2\r\n\r\n", "A: 1\r\nB: 2\r\n\r\n"},
		{"space before colon", "authentication-results  :mx.example.com;none\r\n\r\n", "\r\n"},
		{"another host", "Authentication-Results: mx.example.com.evil; spf=pass\r\n\r\n",
			"Authentication-Results: mx.example.com.evil; spf=pass\r\n\r\n"},
		{"our name inside a comment only", "Authentication-Results: (mx.example.com) other.test; spf=pass\r\n\r\n",
			"Authentication-Results: (mx.example.com) other.test; spf=pass\r\n\r\n"},
		{"last field, no body", "X: 1\r\nAuthentication-Results: mx.example.com; none\r\n", "X: 1\r\n"},
		{"several", "Authentication-Results: mx.example.com; a=b\r\nX: 1\r\nAuthentication-Results: mx.example.com; c=d\r\n\r\n", "X: 1\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, removed := removeOurAuthResults([]byte(tt.in), host)
			if string(got) != tt.want || removed != (tt.in != tt.want) {
				t.Errorf("got %q, %v; want %q", got, removed, tt.want)
			}
		})
	}
}

func TestFromDomains(t *testing.T) {
	tests := []struct {
		header string
		want   []string
	}{
		{"From: A <a@Example.COM>\r\n\r\n", []string{"example.com"}},
		{"From: a@one.test, \"B\" <b@two.test>\r\nfrom: c@one.test\r\n\r\n", []string{"one.test", "two.test"}},
		{"From: =?utf-8?q?broken <a@three.test> (unparsable\r\n\r\n", []string{"three.test"}},
		{"From:\r\n a@folded.test\r\n\r\n", []string{"folded.test"}},
		{"Subject: none\r\n\r\n", nil},
		{"From: a@1.test, a@2.test, a@3.test, a@4.test, a@5.test, a@6.test\r\n\r\n", nil},
	}
	for _, tt := range tests {
		got := fromDomains([]byte(tt.header))
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("fromDomains(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

// FuzzAuthResultsRemoval: splitting a header section into fields loses
// nothing, the removal takes out Authentication-Results fields only,
// keeps every other field byte for byte and in order, leaves nothing to
// remove a second time, and reading the From domains never fails.
func FuzzAuthResultsRemoval(f *testing.F) {
	for _, s := range []string{
		"Authentication-Results: mx.example.com; spf=pass\r\nSubject: x\r\n\r\nbody\r\n",
		"Authentication-Results: (c)\r\n \"mx.example.com\"; dkim=pass\r\n\r\n",
		"Authentication-Results: \"mx\\.example.com\r\n",
		"Authentication-Results: (((\r\n",
		"From: a@b.test\r\n\tx\r\nAuthentication-Results:mx.example.com.\r\n",
		"\r\n\r\n", ":\r\n", " \r\n\r\n", "no colon\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		n := headerEnd(msg)
		if n < 0 || n > len(msg) {
			t.Fatalf("headerEnd = %d for %d bytes", n, len(msg))
		}
		h := msg[:n]
		fields := splitFields(t, h)
		out, removed := removeOurAuthResults(h, "mx.example.com")
		var kept [][]byte
		for _, fl := range fields {
			name, value, ok := fieldName(fl)
			ours := ok && strings.EqualFold(name, "Authentication-Results") &&
				strings.EqualFold(strings.TrimSuffix(authservID(value), "."), "mx.example.com")
			if !ours {
				kept = append(kept, fl)
			}
		}
		if !bytes.Equal(out, bytes.Join(kept, nil)) {
			t.Fatalf("removal of %q gave %q", h, out)
		}
		if removed != (len(kept) != len(fields)) {
			t.Fatalf("removed = %v for %q", removed, h)
		}
		if again, r := removeOurAuthResults(out, "mx.example.com"); r || !bytes.Equal(again, out) {
			t.Fatalf("a second removal changed %q", out)
		}
		if d := fromDomains(h); len(d) > maxFromDomains {
			t.Fatalf("%d From domains", len(d))
		}
	})
}

// splitFields splits a header section with nextField and checks the
// pieces give it back whole.
func splitFields(t *testing.T, h []byte) [][]byte {
	var fields [][]byte
	for rest := h; len(rest) > 0; {
		var f []byte
		f, rest = nextField(rest)
		if len(f) == 0 {
			t.Fatalf("empty field in %q", h)
		}
		fields = append(fields, f)
	}
	if !bytes.Equal(bytes.Join(fields, nil), h) {
		t.Fatalf("fields of %q do not give it back", h)
	}
	return fields
}
