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

// TestBenchResultsKeepHandSections: make bench rewrites only its own part
// of bench/RESULTS.md (bench/results.sh, between the marker lines); the
// sections written by hand before and after it stay byte for byte, a
// second run changes nothing more, and a file without markers keeps its
// text below the new part. Run on a copy of the committed file.
func TestBenchResultsKeepHandSections(t *testing.T) {
	const begin = "<!-- make bench: begin (bench/run.sh rewrites everything up to the end marker) -->\n"
	const end = "<!-- make bench: end (sections written by hand go below) -->\n"
	committed, err := os.ReadFile(filepath.Join(moduleRoot, "bench", "RESULTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	c := string(committed)
	b, e := strings.Index(c, begin), strings.Index(c, end)
	if b < 0 || e < b || strings.Count(c, begin) != 1 || strings.Count(c, end) != 1 {
		t.Fatalf("bench/RESULTS.md: want one begin marker and one end marker after it")
	}
	before, after := c[:b], c[e+len(end):]
	if !strings.Contains(after, "## smtpd holding large messages") {
		t.Fatalf("the hand-written sections are not below the end marker")
	}

	dir := t.TempDir()
	res := filepath.Join(dir, "RESULTS.md")
	gen := filepath.Join(dir, "generated.md")
	splice := func(generated string) string {
		t.Helper()
		if err := os.WriteFile(gen, []byte(generated), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(filepath.Join(moduleRoot, "bench", "results.sh"), gen, res).CombinedOutput(); err != nil {
			t.Fatalf("bench/results.sh: %v\n%s", err, out)
		}
		b, err := os.ReadFile(res)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if err := os.WriteFile(res, committed, 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := "# Benchmark results\n\n| measure | a | b |\n| SMTP | 1 | 2 |\n"
	want := before + begin + fresh + end + after
	if got := splice(fresh); got != want {
		t.Fatalf("after a run:\n%s\nwant:\n%s", got, want)
	}
	if got := splice(fresh); got != want {
		t.Fatalf("after a second run:\n%s\nwant:\n%s", got, want)
	}

	if err := os.WriteFile(res, []byte("## by hand\n\ntext\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := splice(fresh), begin+fresh+end+"\n## by hand\n\ntext\n"; got != want {
		t.Errorf("file without markers:\n%s\nwant:\n%s", got, want)
	}
	os.Remove(res)
	if got, want := splice(fresh), begin+fresh+end; got != want {
		t.Errorf("no file:\n%s\nwant:\n%s", got, want)
	}
}
