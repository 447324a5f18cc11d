package smtp

import (
	"testing"
)

func TestParser(t *testing.T) {
	validReversePaths := []struct {
		raw, path, after string
	}{
		{"<>", "", ""},
		{"<root@nsa.gov>", "root@nsa.gov", ""},
		{"root@nsa.gov", "root@nsa.gov", ""},
		{"<root@nsa.gov> AUTH=asdf@example.org", "root@nsa.gov", " AUTH=asdf@example.org"},
		{"root@nsa.gov AUTH=asdf@example.org", "root@nsa.gov", " AUTH=asdf@example.org"},
	}
	for _, tc := range validReversePaths {
		p := parser{tc.raw}
		path, err := p.parseReversePath()
		if err != nil {
			t.Errorf("parser.parseReversePath(%q) = %v", tc.raw, err)
		} else if path != tc.path {
			t.Errorf("parser.parseReversePath(%q) = %q, want %q", tc.raw, path, tc.path)
		} else if p.s != tc.after {
			t.Errorf("parser.parseReversePath(%q): got after = %q, want %q", tc.raw, p.s, tc.after)
		}
	}

	invalidReversePaths := []string{
		"",
		" ",
		"asdf",
		"<Foo Bar <root@nsa.gov>>",
		" BODY=8BITMIME SIZE=12345",
		"a:b:c@example.org",
		"<root@nsa.gov",
	}
	for _, tc := range invalidReversePaths {
		p := parser{tc}
		if path, err := p.parseReversePath(); err == nil {
			t.Errorf("parser.parseReversePath(%q) = %q, want error", tc, path)
		}
	}
}

// mailsuite: ParsePath gives what the server hands Session.Mail and
// Session.Rcpt, and the server's reply for a path it cannot parse.
func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		rcpt bool
		want string
		code int
	}{
		{"<>", false, "", 0},
		{"<>", true, "", 501},
		{"<@a.example,@b.example:u@c.example>", true, "u@c.example", 0},
		{`<"u@far.example"@c.example>`, true, "u@far.example@c.example", 0},
		{"<postmaster>", true, "postmaster", 0},
		{"<u@c.example> SIZE=10", false, "", 501},
		{"<u@c.example", false, "", 501},
	} {
		got, serr := ParsePath(tc.path, tc.rcpt)
		code := 0
		if serr != nil {
			code = serr.Code
		}
		if got != tc.want || code != tc.code {
			t.Errorf("ParsePath(%q, %v) = %q, %v; want %q, code %d", tc.path, tc.rcpt, got, serr, tc.want, tc.code)
		}
	}
}
