package daemon

import (
	"reflect"
	"testing"
)

func TestSpecs(t *testing.T) {
	got := append(Specs("pop3d.listen", []string{"127.0.0.1:110", "[::1]:110"}, false),
		Specs("pop3d.tls_listen", []string{"127.0.0.1:995"}, true)...)
	want := []ListenerSpec{
		{Addr: "127.0.0.1:110", Name: "pop3d.listen"},
		{Addr: "[::1]:110", Name: "pop3d.listen"},
		{Addr: "127.0.0.1:995", TLS: true, Name: "pop3d.tls_listen"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Specs = %+v, want %+v", got, want)
	}
	if s := Specs("imapd.listen", nil, false); len(s) != 0 {
		t.Fatalf("an empty list must open no listener, got %+v", s)
	}
}
