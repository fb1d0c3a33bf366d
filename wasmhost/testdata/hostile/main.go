// Command hostile is a guest that misbehaves on purpose, one hook per kind
// of misbehaviour. It implements the ABI by hand (no sdk) so it can break it.
package main

import (
	"encoding/json"
	"os"
	"time"
	"unsafe"
)

func main() {}

var in, out []byte

//go:wasmexport patchbay_abi_version
func abiVersion() int32 { return 1 }

//go:wasmexport patchbay_alloc
func alloc(n uint32) uint32 {
	in = make([]byte, max(n, 1))
	return uint32(uintptr(unsafe.Pointer(&in[0])))
}

func reply(b []byte) uint64 {
	out = b
	return uint64(uintptr(unsafe.Pointer(&out[0])))<<32 | uint64(len(out))
}

//go:wasmexport patchbay_hook_echo
func echo(ptr, n uint32) uint64 { return reply(append([]byte(nil), in[:n]...)) }

var sink int

//go:wasmexport patchbay_hook_loop
func loop(ptr, n uint32) uint64 {
	for i := 0; ; i++ {
		sink += i
	}
}

var hoard [][]byte

//go:wasmexport patchbay_hook_bomb
func bomb(ptr, n uint32) uint64 {
	for {
		b := make([]byte, 4<<20)
		b[len(b)-1] = 1
		hoard = append(hoard, b)
	}
}

//go:wasmexport patchbay_hook_panic
func panicky(ptr, n uint32) uint64 { panic("hostile guest panics on purpose") }

//go:wasmexport patchbay_hook_garbage
func garbage(ptr, n uint32) uint64 { return 0xfffffff0<<32 | 100 }

//go:wasmexport patchbay_hook_oversized
func oversized(ptr, n uint32) uint64 { return reply(make([]byte, 65<<10)) }

//go:wasmexport patchbay_hook_chatty
func chatty(ptr, n uint32) uint64 {
	os.Stdout.WriteString("hello from the guest\n")
	for range 1000 {
		os.Stderr.WriteString("spam spam spam spam spam spam spam spam\n")
	}
	return reply([]byte("ok"))
}

// sandbox reports what the guest could learn about its host.
//
//go:wasmexport patchbay_hook_sandbox
func sandbox(ptr, n uint32) uint64 {
	r := map[string]any{}
	_, err := os.ReadFile("/etc/passwd")
	r["read_file_err"] = errString(err)
	_, err = os.Open(".")
	r["open_dot_err"] = errString(err)
	_, err = os.ReadDir("/")
	r["readdir_err"] = errString(err)
	err = os.WriteFile("/tmp/patchbay-guest-was-here", []byte("x"), 0o644)
	r["write_file_err"] = errString(err)
	r["environ"] = os.Environ()
	r["args"] = os.Args
	wd, err := os.Getwd()
	r["getwd"] = wd
	r["getwd_err"] = errString(err)
	r["now_unix"] = time.Now().Unix()
	t0 := time.Now()
	time.Sleep(200 * time.Millisecond)
	r["slept_ns"] = int64(time.Since(t0))
	// The network: WASI preview 1 cannot open a socket, only use one the
	// host hands over as a descriptor (Go's net.Dial on wasip1 is an
	// in-process fake, so it proves nothing). Accept on every descriptor
	// past stdio: EBADF (8) means there is none, EAGAIN a socket.
	var acceptErrnos []int32
	for fd := int32(3); fd < 16; fd++ {
		var newFd int32
		acceptErrnos = append(acceptErrnos, sockAccept(fd, 0, unsafe.Pointer(&newFd)))
	}
	r["accept_errnos"] = acceptErrnos
	b, _ := json.Marshal(r)
	return reply(b)
}

// sockAccept is WASI's sock_accept; it returns an errno.
//
//go:wasmimport wasi_snapshot_preview1 sock_accept
func sockAccept(fd, flags int32, newFd unsafe.Pointer) int32

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

var calls int

// count returns how many times this instance's count hook ran, to prove
// instances of different modules share no state.
//
//go:wasmexport patchbay_hook_count
func count(ptr, n uint32) uint64 {
	calls++
	return reply([]byte{byte('0' + calls%10)})
}
