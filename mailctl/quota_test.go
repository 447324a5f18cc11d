package main

import (
	"context"
	"testing"

	"mailsuite/store"
)

// noMail is the usage fields of a user without mail under the default
// quota (1 GiB).
const noMail = "\tused=0\tquota=1G (default)\tmessages=0"

func TestUserQuota(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.ok("long enough\n", "user", "add", "a@example.com", "--password-stdin")
	e.ok("long enough\n", "user", "add", "b@example.com", "--password-stdin")
	st := e.openStore()
	u := e.user("a@example.com")
	body := make([]byte, 1536)
	for i := 0; i < 2; i++ {
		if err := st.Accept(context.Background(), store.Envelope{Local: []int64{u.ID}}, body); err != nil {
			t.Fatal(err)
		}
	}

	if got, want := e.ok("", "user", "quota", "A@example.com"), lines("a@example.com\tused=3K\tquota=1G (default)\tmessages=2"); got != want {
		t.Errorf("quota show = %q, want %q", got, want)
	}
	if got, want := e.ok("", "user", "quota", "a@example.com", "500M"), lines("a@example.com\tused=3K\tquota=500M\tmessages=2"); got != want {
		t.Errorf("quota set = %q, want %q", got, want)
	}
	if q, _ := st.UserQuota(context.Background(), u.ID); q.StorageLimit != 500<<20 || !q.Own {
		t.Errorf("stored quota %+v, want 500 MiB of the user's own", q)
	}
	e.ok("", "user", "quota", "b@example.com", "none")
	if got, want := e.ok("", "user", "list"), lines(
		"a@example.com\tsmtp=on\tused=3K\tquota=500M\tmessages=2",
		"b@example.com\tsmtp=on\tused=0\tquota=unlimited\tmessages=0"); got != want {
		t.Errorf("user list = %q, want %q", got, want)
	}
	e.ok("", "user", "quota", "b@example.com", "default")
	e.ok("", "user", "quota", "a@example.com", "1.5g")
	if got, want := e.ok("", "user", "list"), lines(
		"a@example.com\tsmtp=on\tused=3K\tquota=1.5G\tmessages=2",
		"b@example.com"+"\tsmtp=on"+noMail); got != want {
		t.Errorf("user list = %q, want %q", got, want)
	}

	e.writeConfig("hostname = \"mail.test\"\ndata_dir = \"data\"\n[quota]\ndefault_storage = 0\n")
	if got, want := e.ok("", "user", "quota", "b@example.com"), lines("b@example.com\tused=0\tquota=unlimited (default)\tmessages=0"); got != want {
		t.Errorf("quota with default_storage = 0: %q, want %q", got, want)
	}

	e.fail(1, "unknown user c@example.com", "", "user", "quota", "c@example.com", "1G")
	e.fail(1, "unknown user c@example.com", "", "user", "quota", "c@example.com")
	e.fail(2, "flag provided but not defined: -1", "", "user", "quota", "a@example.com", "-1")
	for _, bad := range []string{"1X", "G", "1e9", "lots", "0x10", "1 G G"} {
		e.fail(2, "bad SIZE", "", "user", "quota", "a@example.com", bad)
	}
	e.fail(2, "too many operands", "", "user", "quota", "a@example.com", "1G", "2G")
}

func TestParseFormatSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "none": 0, "Unlimited": 0, "default": -1, "1048576": 1 << 20,
		"1K": 1024, "500M": 500 << 20, "2G": 2 << 30, "2GiB": 2 << 30, "1.5G": 3 << 29, "1T": 1 << 40, "10mb": 10 << 20,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[int64]string{0: "0", 999: "999", 1024: "1K", 1536: "1.5K", 1<<30 - 1: "1023.9M", 1 << 30: "1G", 5 << 40: "5T"} {
		if got := formatSize(in); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseSize: any string is refused or read as -1 or more, and a
// formatted size reads back within the tenth of a unit formatSize drops.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "none", "default", "500M", "1.5G", "2GiB", "1e3", "-1", "0x10", "9999999T", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		if n < -1 {
			t.Fatalf("parseSize(%q) = %d", s, n)
		}
		if n < 0 {
			return
		}
		back, err := parseSize(formatSize(n))
		if err != nil || back > n || float64(back) < float64(n)*0.9-1 {
			t.Fatalf("%d formats as %q, reads back as %d (%v)", n, formatSize(n), back, err)
		}
	})
}
