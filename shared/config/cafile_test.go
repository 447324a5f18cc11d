package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadCAFile: tls.ca_file is resolved against the config's folder
// and must hold a PEM certificate; a missing or empty file stops the
// start with the key's name.
func TestLoadCAFile(t *testing.T) {
	for text, want := range map[string]string{
		"[tls]\nca_file = \"nope.pem\"\n":  "nope.pem",
		"[tls]\nca_file = \"empty.pem\"\n": "holds no PEM certificate",
	} {
		path := writeConfig(t, text)
		os.WriteFile(filepath.Join(filepath.Dir(path), "empty.pem"), []byte("nothing\n"), 0o644)
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), "tls.ca_file") || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q) = %v, want an error naming tls.ca_file and %q", text, err, want)
		}
	}
}
