package mailimport

import (
	"bytes"
	"testing"
)

// FuzzMbox: any input is an mbox or an error, and every message found
// reads back without a panic, within the file.
func FuzzMbox(f *testing.F) {
	f.Add([]byte("From a Mon Jan  2 15:04:05 2006\nSubject: x\n\n>From y\n\nFrom b\nS: y\n"))
	f.Add([]byte("From \n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := ScanMbox(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, m := range msgs {
			if m.Offset < 0 || m.Length < 0 || m.Offset+m.Length > int64(len(b)) {
				t.Fatalf("message %+v outside the %d-byte file", m, len(b))
			}
			ReadMbox(bytes.NewReader(b), m)
		}
	})
}

// FuzzUIDListLine and the name decoder never panic.
func FuzzUIDListLine(f *testing.F) {
	f.Add("4 P0000abcd W100 :1700000004.M4P1.host:2,S", "Archive.R&AOk-sum&AOk-")
	f.Fuzz(func(t *testing.T, line, name string) {
		parseUIDLine(line, 3)
		parseUIDLine(line, 1)
		folderName(name)
		var l uidList
		l.parseHeader(line)
	})
}

func TestDecodeMUTF7(t *testing.T) {
	for in, want := range map[string]string{"R&AOk-sum&AOk-": "Résumé", "a&-b": "a&b", "&ZeVnLIqe-": "日本語", "plain": "plain"} {
		if got, err := decodeMUTF7(in); err != nil || got != want {
			t.Errorf("decodeMUTF7(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := decodeMUTF7("&AOk"); err == nil {
		t.Errorf("unterminated sequence accepted")
	}
}
