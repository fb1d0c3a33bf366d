// Package sdk is what a Patchbay policy plugin written in Go imports: the
// types of the hook ABI (RedirectInput, HangupInput, Decision), their JSON
// codec, and, when built with GOOS=wasip1 GOARCH=wasm, the module exports
// the host calls, wired to the functions the plugin registers.
//
// A plugin is a main package built with the stock toolchain:
//
//	package main
//
//	import "github.com/patchbay/patchbay/sdk"
//
//	func main() {}
//
//	var _ = sdk.HandleRedirect(func(in sdk.RedirectInput) sdk.Decision {
//		if in.Request.URL == "" {
//			return sdk.Deny("no target")
//		}
//		return sdk.Allow()
//	})
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// Registration happens in a package-level variable declaration because a
// c-shared (reactor) module runs package initialisation from _initialize
// and never runs main.main (checked on go1.26).
//
// The ABI itself, language-neutral and versioned, is described in
// README.md; Decision documents the hook contract. Natively the package
// compiles too (without the exports), so plugins and hosts can test with
// it.
package sdk
