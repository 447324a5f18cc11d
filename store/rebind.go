package store

import (
	"strconv"
	"strings"
)

// rebind rewrites the store's SQLite placeholders for PostgreSQL: each
// "?" becomes "$1", "$2"... in order, and "?N" becomes "$N", numbered as
// SQLite numbers them (a bare "?" after "?N" takes N+1). Question marks
// inside string literals, quoted identifiers, dollar-quoted strings and
// comments are left alone. The store's SQL is written once, with "?", and
// every statement passes through here on its way to PostgreSQL.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	last := 0 // the highest parameter number so far
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := quoteEnd(query, i, c)
			b.WriteString(query[i:j])
			i = j
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			j := strings.Index(query[i+2:], "*/")
			end := len(query)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(query[i:end])
			i = end
		case c == '$':
			j := dollarEnd(query, i)
			b.WriteString(query[i:j])
			i = j
		case c == '?':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			n := last + 1
			if j > i+1 {
				var err error
				if n, err = strconv.Atoi(query[i+1 : j]); err != nil || n > maxParams {
					b.WriteString(query[i:j]) // not a parameter either engine takes
					i = j
					continue
				}
			}
			last = max(last, n)
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// maxParams bounds the parameter numbers rebind rewrites: PostgreSQL
// takes at most 65535 parameters in a statement.
const maxParams = 65535

// quoteEnd returns the index just past the literal or identifier opened
// by q at i (a doubled quote inside is an escaped one), or len(s) if unclosed.
func quoteEnd(s string, i int, q byte) int {
	for j := i + 1; j < len(s); j++ {
		if s[j] == q {
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// dollarEnd returns the index just past a dollar-quoted string ($$...$$
// or $tag$...$tag$) starting at i, or i+1 when the $ opens none (a
// positional parameter such as $1 is copied as it is).
func dollarEnd(s string, i int) int {
	j := i + 1
	for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || j > i+1 && s[j] >= '0' && s[j] <= '9') {
		j++
	}
	if j >= len(s) || s[j] != '$' {
		return i + 1
	}
	tag := s[i : j+1]
	k := strings.Index(s[j+1:], tag)
	if k < 0 {
		return len(s)
	}
	return j + 1 + k + len(tag)
}
