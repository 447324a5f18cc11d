package config

import (
	"regexp"
	"slices"
	"strings"
)

// keyLine returns the 1-based line where key is set in the TOML text, or 0.
// BurntSushi/toml does not expose key positions, so this is a best-effort
// scan that follows [table] headers and dotted keys, and falls back to a
// "name =" match inside the right table for inline tables.
func keyLine(text string, key []string) int {
	if len(key) == 0 {
		return 0
	}
	lastRE := regexp.MustCompile(`(^|[\s{,.])["']?` + regexp.QuoteMeta(key[len(key)-1]) + `["']?\s*=`)
	var table []string
	fallback := 0
	for i, line := range strings.Split(text, "\n") {
		s := strings.TrimSpace(stripComment(line))
		if s == "" {
			continue
		}
		if strings.HasPrefix(s, "[") {
			table = splitKey(strings.Trim(s, "[] \t"))
			if slices.Equal(table, key) {
				return i + 1
			}
			continue
		}
		name, _, ok := strings.Cut(s, "=")
		if !ok {
			continue
		}
		full := append(slices.Clone(table), splitKey(name)...)
		if slices.Equal(full, key) {
			return i + 1
		}
		if fallback == 0 && hasKeyPrefix(key, table) && lastRE.MatchString(s) {
			fallback = i + 1
		}
	}
	return fallback
}

// stripComment drops a trailing # comment that is not inside quotes.
func stripComment(line string) string {
	var quote rune
	for i, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && (r == '"' || r == '\''):
			quote = r
		case quote == 0 && r == '#':
			return line[:i]
		}
	}
	return line
}

// splitKey splits a dotted TOML key, honouring quoted parts.
func splitKey(s string) []string {
	var parts []string
	var cur strings.Builder
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote = r
		case r == '.':
			parts = append(parts, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(parts, strings.TrimSpace(cur.String()))
}
