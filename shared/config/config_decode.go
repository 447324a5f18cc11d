package config

import (
	"errors"
	"slices"

	"github.com/BurntSushi/toml"
)

// decode reads text over c (which holds the defaults) and rejects keys that
// Config does not know.
func decode(c *Config, text string) error {
	// Parse once on its own so that syntax errors, whose "last key" may be
	// an earlier line's, are reported by position only.
	var raw map[string]any
	if _, err := toml.Decode(text, &raw); err != nil {
		return syntaxError(c.Path, err)
	}
	md, err := toml.Decode(text, c)
	if err != nil {
		return valueError(c.Path, err)
	}
	return unknownKeys(c.Path, text, md.Undecoded())
}

// unknownKeys reports every key Config does not define. A key inside an
// unknown table is not reported again: "[foo]" says enough about "foo.x".
func unknownKeys(file, text string, undecoded []toml.Key) error {
	var errs []error
	var reported []toml.Key
	for _, k := range undecoded {
		if slices.ContainsFunc(reported, func(r toml.Key) bool { return hasKeyPrefix(k, r) }) {
			continue
		}
		reported = append(reported, k)
		errs = append(errs, &Error{
			File: file,
			Key:  k.String(),
			Line: keyLine(text, k),
			Err:  errors.New("unknown key"),
		})
	}
	return errors.Join(errs...)
}

// hasKeyPrefix reports whether key lies inside (or is) the table prefix.
func hasKeyPrefix(key, prefix []string) bool {
	return len(key) >= len(prefix) && slices.Equal(key[:len(prefix)], prefix)
}
