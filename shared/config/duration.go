package config

import (
	"fmt"
	"time"
)

// Duration is a time.Duration written in TOML as a Go duration string such
// as "30m" or "120h", which reads better in a config file than nanoseconds.
type Duration struct{ time.Duration }

// UnmarshalText parses a duration string like "30m".
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. \"30m\" or \"4h\")", text)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration in the same form UnmarshalText reads.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.Duration.String()), nil
}
