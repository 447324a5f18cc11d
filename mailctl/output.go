package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// record writes one output line: fields separated by tabs. Fields never
// contain tabs or newlines (they are canonical names, addresses and IPs),
// so "cut -f" and "while read" work on the output.
func record(w io.Writer, fields ...string) error {
	_, err := io.WriteString(w, strings.Join(fields, "\t")+"\n")
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// row is one record of a list command. Its struct's json tags are the
// stable key names of --json (documented in "mailctl help"); fields gives
// the same record as the tab-separated columns of the text output.
type row interface {
	fields() []string
}

// writeList prints the rows of a list command: one tab-separated line per
// row, or with --json one JSON array of objects ("[]" when empty), so a
// script reads either without guessing at columns.
func writeList[R row](e *env, rows []R) error {
	if !e.inv.json {
		for _, r := range rows {
			if err := record(e.stdout, r.fields()...); err != nil {
				return err
			}
		}
		return nil
	}
	if rows == nil {
		rows = []R{}
	}
	return writeJSON(e, rows)
}

// writeJSON prints v as indented JSON: the --json form of a list (an
// array) or of a report (one object).
func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// onOff renders a flag as "on" or "off".
func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
