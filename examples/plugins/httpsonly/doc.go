// Package httpsonly holds a Patchbay policy plugin written in AssemblyScript
// (assembly/*.ts), not Go: it proves the plugin ABI of sdk/README.md is
// language-neutral. The Go code here is only its test, which builds the
// module with the pinned compiler (build.sh) and runs it inside wasmhost.
package httpsonly
