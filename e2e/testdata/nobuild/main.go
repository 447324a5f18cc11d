// Command nobuild does not compile, on purpose: the e2e harness must fail,
// not skip, a test whose daemon does not build (TestBinaryFailsOnBuildError).
package main

func main() {
	var n int = "not a number"
	_ = n
}
