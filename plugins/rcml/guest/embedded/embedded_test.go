package embedded_test

import (
	"bytes"
	"testing"

	"github.com/patchbay/patchbay/plugins/rcml/guest/embedded"
)

func TestModuleIsWasmAndACopy(t *testing.T) {
	m := embedded.Module()
	if !bytes.HasPrefix(m, []byte("\x00asm\x01\x00\x00\x00")) {
		t.Fatalf("the embedded module starts with %q, not a wasm header", m[:min(8, len(m))])
	}
	m[0] = 'X'
	if embedded.Module()[0] != 0 {
		t.Fatal("Module returned the embedded bytes themselves")
	}
}
