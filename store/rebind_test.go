package store

import (
	"strings"
	"testing"
)

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{`VALUES (?1, ?2), (?1, ?3) LIMIT ?10`, `VALUES ($1, $2), ($1, $3) LIMIT $10`},
		{`SET a = ?2, b = ? WHERE c = ?`, `SET a = $2, b = $3 WHERE c = $4`},
		{`SELECT '?', "a?b", ? -- what?` + "\n" + `/* ? */ , ?`, `SELECT '?', "a?b", $1 -- what?` + "\n" + `/* ? */ , $2`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`SELECT $$ ? $$, $tag$ ?$$? $tag$, ?`, `SELECT $$ ? $$, $tag$ ?$$? $tag$, $1`},
		{`SELECT $1, ?`, `SELECT $1, $1`},
		{`SELECT ' ? `, `SELECT ' ? `},
		{`SELECT ?`, `SELECT $1`},
	} {
		if got := rebind(c.in); got != c.want {
			t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzRebind checks that rebind only ever replaces question marks: the
// text around them is unchanged, and every ? outside quotes and comments
// is gone.
func FuzzRebind(f *testing.F) {
	for _, s := range []string{`SELECT ? FROM t WHERE a = '?'`, `?1 ?2 ?`, `$$?$$ ?`, `-- ?` + "\n?", `/* ? */?`, `"?"?`, `$a$?`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := rebind(in)
		if !strings.Contains(in, "?") {
			if out != in {
				t.Fatalf("rebind(%q) = %q without a placeholder", in, out)
			}
			return
		}
		// Removing the placeholders from both sides leaves equal text.
		strip := func(s string, mark byte) string {
			var b strings.Builder
			for i := 0; i < len(s); i++ {
				if s[i] == mark {
					for i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
						i++
					}
					continue
				}
				b.WriteByte(s[i])
			}
			return b.String()
		}
		if strip(strip(in, '?'), '$') != strip(strip(out, '?'), '$') {
			t.Fatalf("rebind(%q) = %q changed more than placeholders", in, out)
		}
		if strings.Count(out, "?") > strings.Count(in, "?") {
			t.Fatalf("rebind(%q) = %q added question marks", in, out)
		}
	})
}
