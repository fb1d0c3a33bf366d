// Command stamped is the smallest guest whose bytes depend on -ldflags:
// version is set with -X main.version=....
package main

var version string

//go:wasmexport version_len
func versionLen() int32 { return int32(len(version)) }

func main() {}
