// Package abi names the exports and limits of the guest ABI (sdk/README.md)
// as the host uses them. sdk holds the guest's copy; a test keeps the two
// equal.
package abi

// Version is the only ABI version this host speaks.
const Version = 1

// Export names.
const (
	ExportVersion = "patchbay_abi_version"
	ExportAlloc   = "patchbay_alloc"
	ExportHooks   = "patchbay_hooks"
	// ExportInputBuffer (optional, () -> i64) gives ptr<<32 | size of a
	// buffer the host writes every input of at most size bytes into,
	// instead of calling ExportAlloc each time.
	ExportInputBuffer = "patchbay_input_buffer"
	HookExportPrefix  = "patchbay_hook_"
	ExportMemory      = "memory"
	ExportInitialize  = "_initialize"
	// WASIModule is the only module a guest may import from.
	WASIModule = "wasi_snapshot_preview1"
)

// Size limits of a hook's input and output.
const (
	MaxInputBytes  = 64 << 10
	MaxOutputBytes = 64 << 10
)

// HookExport returns the export that implements hook.
func HookExport(hook string) string { return HookExportPrefix + hook }
