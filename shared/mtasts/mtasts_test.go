package mtasts

import (
	"testing"
)

func TestParseAndAllows(t *testing.T) {
	p, err := Parse([]byte("version: STSv1\r\nmode: enforce\r\nmx: MX1.example.com.\r\nmx: *.mx.example.com\r\nmax_age: 99999999999\r\nfuture: ignored\r\n"))
	if err != nil || p.Mode != Enforce || p.MaxAge != MaxAge {
		t.Fatalf("parse: %+v, %v", p, err)
	}
	for host, want := range map[string]bool{
		"mx1.example.com": true, "MX1.EXAMPLE.COM.": true, "a.mx.example.com": true,
		"mx.example.com": false, "a.b.mx.example.com": false, "mx2.example.com": false, ".mx.example.com": false,
	} {
		if got := p.Allows(host); got != want {
			t.Errorf("Allows(%q) = %v, want %v", host, got, want)
		}
	}
	for _, bad := range []string{
		"", "version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n", "version: STSv1\nmode: enforce\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a\n", "version: STSv1\nmode: enforce\nmx: a\nmax_age: -1\n",
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestRecordID(t *testing.T) {
	for _, tc := range []struct {
		txts []string
		id   string
	}{
		{[]string{"v=STSv1; id=20261130"}, "20261130"},
		{[]string{"v=spf1 -all", "v=STSv1;id=a1"}, "a1"},
		{[]string{"v=STSv1; id=a", "v=STSv1; id=b"}, ""},
		{[]string{"v=STSv1;"}, ""},
		{nil, ""},
	} {
		id, err := RecordID(tc.txts)
		if id != tc.id || (err == nil) != (tc.id != "") {
			t.Errorf("RecordID(%q) = %q, %v; want %q", tc.txts, id, err, tc.id)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("version: STSv1\r\nmode: enforce\r\nmx: in.far.test\r\nmax_age: 86400\r\n"))
	f.Add([]byte("version: STSv1\nmode: none\nmax_age: 0\n"))
	f.Add([]byte("mx: *.\nmx: *\nmax_age: 1e9\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := Parse(body)
		if err != nil {
			return
		}
		if p.MaxAge < 0 || p.MaxAge > MaxAge || (p.Mode != None && len(p.MX) == 0) {
			t.Fatalf("accepted %+v", p)
		}
		p.Allows("mx.example.com")
		p.Allows("")
	})
}
