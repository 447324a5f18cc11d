package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRootGivesNewStoreToDataDirOwner: root running mailctl before any
// daemon (the README's install steps) leaves a store the data directory's
// owner, the daemons' user, can write. Runs only as root.
func TestRootGivesNewStoreToDataDirOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	const nobody = 65534
	e := newEnv(t)
	// The temporary folders must let the daemon user through to data/
	// and to the binary.
	letThrough(t, e.dataDir)
	letThrough(t, mailctlBin)
	os.Chmod(e.config, 0o644)
	if err := os.Chown(e.dataDir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	e.ok("", "domain", "add", "example.com")
	files, _ := filepath.Glob(e.dbPath() + "*")
	if len(files) == 0 {
		t.Fatal("no mail.db written")
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != nobody {
			t.Errorf("%s belongs to uid %d, want the data directory's owner %d", filepath.Base(f), uid, nobody)
		}
	}

	// The daemons' user can write it afterwards.
	cmd := exec.Command(mailctlBin, "domain", "add", "example.org", "-config", e.config)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mailctl as uid %d after root: %v: %s", nobody, err, out)
	}
	if got := e.ok("", "domain", "list"); !strings.Contains(got, "example.org\t") {
		t.Errorf("domain list = %q", got)
	}
}

// letThrough adds search permission for others to every folder between
// the temporary directory and path, so another uid can reach path.
func letThrough(t *testing.T, path string) {
	t.Helper()
	for d := filepath.Dir(path); strings.HasPrefix(d, os.TempDir()) && d != os.TempDir(); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
			t.Fatal(err)
		}
	}
}
