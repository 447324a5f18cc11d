package mailimport

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
)

// mutf7 is the base64 alphabet of modified UTF-7 (RFC 3501 5.1.3), in
// which Dovecot writes folder names on disk.
var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// decodeMUTF7 decodes a modified UTF-7 name to UTF-8.
func decodeMUTF7(s string) (string, error) {
	var out strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			out.WriteString(s)
			return out.String(), nil
		}
		out.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '-')
		if j < 0 {
			return "", errors.New("unterminated &-sequence in modified UTF-7 name")
		}
		enc := s[i+1 : i+j]
		s = s[i+j+1:]
		if enc == "" {
			out.WriteByte('&')
			continue
		}
		b, err := mutf7.DecodeString(enc)
		if err != nil || len(b)%2 != 0 {
			return "", errors.New("bad modified UTF-7 in name")
		}
		u := make([]uint16, len(b)/2)
		for k := range u {
			u[k] = uint16(b[2*k])<<8 | uint16(b[2*k+1])
		}
		out.WriteString(string(utf16.Decode(u)))
	}
}
