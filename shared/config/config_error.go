package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/BurntSushi/toml"
)

// Error is a problem with a configuration file, located as precisely
// as possible so the operator can fix it from the journal line alone.
type Error struct {
	File string // the configuration file
	Key  string // dotted key such as "relay.window"; empty for syntax errors
	Line int    // 1-based line, 0 when unknown
	Err  error  // what is wrong
}

// Error formats as `config FILE: KEY: PROBLEM (line N)`.
func (e *Error) Error() string {
	switch {
	case e.Key == "" && e.Line > 0:
		return fmt.Sprintf("config %s: line %d: %v", e.File, e.Line, e.Err)
	case e.Key == "":
		return fmt.Sprintf("config %s: %v", e.File, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("config %s: %s: %v (line %d)", e.File, e.Key, e.Err, e.Line)
	default:
		return fmt.Sprintf("config %s: %s: %v", e.File, e.Key, e.Err)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// syntaxError converts an error from parsing the TOML text itself.
func syntaxError(file string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: file, Line: pe.Position.Line, Err: errors.New(pe.Message)}
	}
	return &Error{File: file, Err: err}
}

// tomlErrRE matches BurntSushi's plain decode errors, e.g.
// `toml: line 5 (last key "smtpd.max_recipients"): incompatible types: ...`.
var tomlErrRE = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "(.*?)"\): (.*)$`)

// valueError converts an error from decoding a parsed value into Config,
// such as a wrong type or an invalid duration.
func valueError(file string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: file, Key: pe.LastKey, Line: pe.Position.Line, Err: errors.New(pe.Message)}
	}
	if m := tomlErrRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Key: m[2], Line: line, Err: errors.New(m[3])}
	}
	return &Error{File: file, Err: err}
}
