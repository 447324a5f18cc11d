package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// absPath matches an absolute path in text: a slash after white space, a
// parenthesis or the start of a line, followed by a name.
var absPath = regexp.MustCompile(`(?m)(^|[\s(=])/[A-Za-z0-9_.-]+/`)

// TestBenchResultsRelative: the committed bench/RESULTS.md names no folder
// of the machine it ran on.
func TestBenchResultsRelative(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moduleRoot, "bench", "RESULTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	if m := absPath.FindAllString(string(b), -1); m != nil {
		t.Errorf("bench/RESULTS.md holds absolute paths: %q", m)
	}
}

// TestBenchPathsRelative: bench/run.sh names the measurement scripts'
// folder relative to the repository (here in the one line it prints when
// they are missing, which costs no measurement).
func TestBenchPathsRelative(t *testing.T) {
	missing := filepath.Join(filepath.Dir(moduleRoot), "no-such-bench-dir")
	cmd := exec.Command(filepath.Join(moduleRoot, "bench", "run.sh"))
	cmd.Env = append(os.Environ(), "BENCH="+missing)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("bench/run.sh with BENCH=%s succeeded:\n%s", missing, out)
	}
	if !strings.Contains(string(out), "no measurement scripts at ../no-such-bench-dir ") || absPath.Match(out) {
		t.Errorf("bench/run.sh output, want the folder relative to the repository:\n%s", out)
	}
}
