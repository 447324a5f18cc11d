package auth

import "testing"

// The test vectors of the specification (akkadia.org/drepper/SHA-crypt.txt),
// and hashes made by Dovecot's "doveadm pw".
func TestSHACrypt(t *testing.T) {
	for _, c := range []struct{ hash, pw string }{
		{"$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!"},
		{"$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", "Hello world!"},
		{"$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5", "This is just a test"},
		{"$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC", "the minimum number is still observed"},
		{"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!"},
		{"$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.", "Hello world!"},
		{"$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1", "a very much longer text to encrypt.  This one even stretches over morethan one line."},
		{"$6$/06hvPYInWlPJclz$v8c4YCxUk1bseKfW4oajanlRlUIhh2PHWfiD0N5N0mKKjEVSUwTx7gA93I7I0t26GsURkfU1MuMFhE5n/ABhK0", "pass-SHA512-CRYPT"},
		{"$5$Kd6/JPC8GD8/3qML$37ufURdlgn/pN6uSLpCN6Z0bVBVTHV40m9HYABKtGX.", "pass-SHA256-CRYPT"},
	} {
		if !CheckPassword(c.hash, c.pw) {
			got, _ := shaCrypt(c.hash, c.pw)
			t.Errorf("%s does not check %q (computed %s)", c.hash, c.pw, got)
		}
		if CheckPassword(c.hash, c.pw+"x") {
			t.Errorf("%s checks a wrong password", c.hash)
		}
	}
	for _, bad := range []string{"$6$", "$6$rounds=$x$y", "$6$rounds=999999999$s$h", "$5$rounds=-1$s$h"} {
		if CheckPassword(bad, "") {
			t.Errorf("malformed %q matches", bad)
		}
	}
}
