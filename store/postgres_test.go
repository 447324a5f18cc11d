package store

import (
	"strings"
	"testing"
)

// TestOpenDriver: the driver names choose the backend; any other name is
// refused with the two valid ones.
func TestOpenDriver(t *testing.T) {
	_, err := OpenDriver("mysql", "x")
	if err == nil || !strings.Contains(err.Error(), `"sqlite"`) || !strings.Contains(err.Error(), `"postgres"`) {
		t.Fatalf("unknown driver: %v", err)
	}
	src := testSource(t)
	s, err := OpenDriver(testDriver(), src)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Driver() != testDriver() {
		t.Errorf("Driver() = %q, want %q", s.Driver(), testDriver())
	}
	wantDSN := ""
	if testDriver() == DriverPostgres {
		wantDSN = src
	}
	if s.DSN() != wantDSN {
		t.Errorf("DSN() = %q, want %q", s.DSN(), wantDSN)
	}
}

// TestOpenPostgresBadDSN: a malformed connection string is refused
// without quoting it (it may hold the password).
func TestOpenPostgresBadDSN(t *testing.T) {
	_, err := OpenPostgres("host=db password=sekrit port=x")
	if err == nil || strings.Contains(err.Error(), "sekrit") {
		t.Fatalf("err = %v", err)
	}
}
