package main

import "testing"

func TestAsideReturnsAndRepanics(t *testing.T) {
	var got int
	aside(func() { got = 42 })
	if got != 42 {
		t.Fatalf("aside did not wait for f: got %d", got)
	}
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("recovered %v, want the panic of f", p)
		}
	}()
	aside(func() { panic("boom") })
	t.Fatal("aside returned after f panicked")
}
