package main

import (
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

// onOff renders a flag as "on" or "off".
func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
