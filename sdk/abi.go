package sdk

// The ABI constants a host and a guest agree on. README.md is the
// normative description; these values are what it names.
const (
	// ABIVersion is the version of the ABI this SDK speaks. A host refuses a
	// module whose patchbay_abi_version export returns a version it does not
	// know.
	ABIVersion = 1

	// ExportABIVersion is the export that returns the module's ABI version.
	ExportABIVersion = "patchbay_abi_version"
	// ExportAlloc is the export that hands the host a buffer for the input.
	ExportAlloc = "patchbay_alloc"
	// ExportInputBuffer is the optional export that tells the host where
	// the module's input buffer is, so an invocation needs no
	// patchbay_alloc call.
	ExportInputBuffer = "patchbay_input_buffer"
	// HookExportPrefix prefixes a hook's name to form its export name.
	HookExportPrefix = "patchbay_hook_"

	// MaxInputBytes bounds the encoded input a host passes to a hook.
	MaxInputBytes = 64 << 10
	// MaxOutputBytes bounds the encoded output a hook may return.
	MaxOutputBytes = 64 << 10
)

// Hook names. A hook's export is HookExportPrefix + its name.
const (
	// HookRedirect runs before a redirect of a live call takes effect.
	HookRedirect = "redirect"
	// HookHangup runs before a live call is ended through the API.
	HookHangup = "hangup"
)

// HookExport returns the name of the export that implements hook.
func HookExport(hook string) string { return HookExportPrefix + hook }
