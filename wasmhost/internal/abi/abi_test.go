package abi

import (
	"testing"

	"github.com/patchbay/patchbay/sdk"
)

func TestMatchesTheSDK(t *testing.T) {
	if Version != sdk.ABIVersion || ExportVersion != sdk.ExportABIVersion || ExportAlloc != sdk.ExportAlloc ||
		ExportInputBuffer != sdk.ExportInputBuffer ||
		HookExportPrefix != sdk.HookExportPrefix || MaxInputBytes != sdk.MaxInputBytes ||
		MaxOutputBytes != sdk.MaxOutputBytes || HookExport("redirect") != sdk.HookExport(sdk.HookRedirect) {
		t.Fatal("the host's ABI constants differ from the SDK's")
	}
}
