package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailsuite/store"
)

// listJSON runs a list command with --json and decodes its one array.
func (e *testEnv) listJSON(args ...string) []map[string]any {
	e.t.Helper()
	out := e.ok("", append(args, "--json")...)
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		e.t.Fatalf("mailctl %q --json: %v\n%s", args, err, out)
	}
	return rows
}

// TestListJSON: every list command prints, with --json, one array of
// objects with the documented keys and the same facts as its text lines;
// an empty list is [] (never null); other commands refuse --json.
func TestListJSON(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.ok("", "domain", "add", "example.com")
	for _, args := range [][]string{
		{"domain", "list"}, {"user", "list"}, {"alias", "list"}, {"grants", "list"}, {"queue", "list"},
	} {
		if got := e.ok("", append(args, "--json")...); got != "[]\n" && args[0] != "domain" {
			t.Errorf("mailctl %q --json on an empty store = %q, want []", args, got)
		}
	}
	e.ok("long enough\n", "domain", "smtp-password", "example.com", "--password-stdin")
	e.ok("long enough\n", "user", "add", "a@example.com", "--password-stdin", "--no-smtp")
	e.ok("", "alias", "add", "info@example.com", "a@example.com")
	st := e.openStore()
	a := e.user("a@example.com")
	if err := st.Grant(ctx, "192.0.2.1", a.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := st.Accept(ctx, store.Envelope{From: "", Remote: []string{"z@remote.test", "y@remote.test"}, IsBounce: true},
		[]byte("Subject: t\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	grants, err := st.Grants(ctx)
	if err != nil || len(grants) != 1 {
		t.Fatal(grants, err)
	}
	q, err := st.QueuedMessages(ctx)
	if err != nil || len(q) != 1 {
		t.Fatal(q, err)
	}

	for _, tc := range []struct {
		args []string
		want []map[string]any
	}{
		{[]string{"domain", "list"}, []map[string]any{{"domain": "example.com", "smtp_password": true}}},
		{[]string{"user", "list"}, []map[string]any{{"address": "a@example.com", "smtp": false, "used": float64(0),
			"quota": float64(1 << 30), "quota_default": true, "messages": float64(0)}}},
		{[]string{"alias", "list", "example.com"}, []map[string]any{{"source": "info@example.com", "target": "a@example.com"}}},
		{[]string{"grants", "list"}, []map[string]any{{"ip": "192.0.2.1", "user": "a@example.com",
			"expires": grants[0].Expires.UTC().Format(time.RFC3339)}}},
		{[]string{"queue", "list"}, []map[string]any{{"id": float64(q[0].ID), "sender": "",
			"recipients": []any{q[0].Rcpts[0].Rcpt, q[0].Rcpts[1].Rcpt}, "attempts": float64(0),
			"next_attempt": q[0].Rcpts[0].NextAttempt.UTC().Format(time.RFC3339), "last_error": ""}}},
	} {
		if got := e.listJSON(tc.args...); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("mailctl %q --json =\n%v\nwant\n%v", tc.args, got, tc.want)
		}
	}
	e.fail(2, "domain add does not take --json", "", "domain", "add", "example.org", "--json")
	e.fail(2, "grants revoke does not take --json", "", "grants", "revoke", "192.0.2.1", "--json")
}

// TestListKeysDocumented: "mailctl help" names every JSON key of every
// list in the "json:" note under that list, so the stable names an
// operator scripts against are written down.
func TestListKeysDocumented(t *testing.T) {
	help := helpText(t)
	notes := regexp.MustCompile(`json: ((?:.|\n {30,})*)`).FindAllStringSubmatch(help, -1)
	for _, r := range []any{domainRow{}, userRow{}, aliasRow{}, grantRow{}, queueRow{}, dkimRow{}} {
		typ := reflect.TypeOf(r)
		var keys []string
		for i := range typ.NumField() {
			keys = append(keys, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
		}
		note := ""
		for _, n := range notes {
			// The note of this row names its first two keys first
			// (domainRow and dkimRow both start with "domain").
			if strings.HasPrefix(n[1], keys[0]) && (note == "" || strings.HasPrefix(n[1], keys[0]+", "+keys[1])) {
				note = n[1]
			}
		}
		for _, k := range keys {
			if !regexp.MustCompile(`\b` + k + `\b`).MatchString(note) {
				t.Errorf("mailctl help does not document the JSON key %q of %s (note %q)", k, typ.Name(), note)
			}
		}
	}
}

// helpText returns "mailctl help" as the binary prints it.
func helpText(t *testing.T) string {
	t.Helper()
	out, errs, code := runBin(t, "", "help")
	if code != 0 || errs != "" {
		t.Fatalf("mailctl help: exit %d, stderr %q", code, errs)
	}
	return out
}

// TestREADMEQuotesHelp: README.md's mailctl reference is "mailctl help"
// word for word, so the columns and keys it documents are the real ones.
func TestREADMEQuotesHelp(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if help := helpText(t); !strings.Contains(string(readme), "```\n"+help+"```\n") {
		t.Errorf("README.md does not quote mailctl help verbatim; paste this into its mailctl reference:\n%s", help)
	}
}
