package imapwire

// mailsuite: test of the sequence-set syntax error.

import (
	"bufio"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestExpectNumSetInvalid(t *testing.T) {
	for _, s := range []string{"0", "4294967296", "1:0", "0:*", "1,0", "99999999999999999999"} {
		dec := NewDecoder(bufio.NewReader(strings.NewReader(s+"\r\n")), ConnSideServer)
		var set imap.NumSet
		if dec.ExpectNumSet(NumKindSeq, &set) {
			t.Errorf("%q accepted: %v", s, set)
			continue
		}
		var expectErr *DecoderExpectError
		if !errors.As(dec.Err(), &expectErr) {
			t.Errorf("%q: error %v is not a syntax error", s, dec.Err())
		}
	}
	dec := NewDecoder(bufio.NewReader(strings.NewReader("1:4294967295\r\n")), ConnSideServer)
	var set imap.NumSet
	if !dec.ExpectNumSet(NumKindUID, &set) {
		t.Errorf("1:4294967295 refused: %v", dec.Err())
	}
}
