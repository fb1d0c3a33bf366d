package embedded_test

import (
	"context"
	"sort"
	"strconv"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/plugins/rcml/guest/embedded"
	"github.com/patchbay/patchbay/plugins/rcml/guest/wire"
	"github.com/patchbay/patchbay/wasmhost/gojumps"
)

type rd struct {
	b []byte
	i int
}

func (r *rd) u() uint64 {
	var v uint64
	var s uint
	for {
		c := r.b[r.i]
		r.i++
		v |= uint64(c&0x7f) << s
		s += 7
		if c&0x80 == 0 {
			return v
		}
	}
}
func (r *rd) skipLEB() {
	for r.b[r.i]&0x80 != 0 {
		r.i++
	}
	r.i++
}

func leb(v uint64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, c|0x80)
		} else {
			return append(out, c)
		}
	}
}

// instrument returns a copy of wasm with a mutable i64 global per function
// that has a loop, exported as cnt_<function index> and incremented after each
// loop opcode, the function names (from the name section) by index, and the
// counters' exports. It decodes just enough of the code to find the loop
// opcodes: the MVP instructions, sign extension, saturating conversions and
// bulk memory, which is what the Go toolchain emits.
func instrument(t testing.TB, wasm []byte) ([]byte, map[int]string, map[string]int) {
	type sec struct {
		id   byte
		body []byte
	}
	var secs []sec
	r := &rd{b: wasm, i: 8}
	for r.i < len(wasm) {
		id := wasm[r.i]
		r.i++
		n := int(r.u())
		secs = append(secs, sec{id, wasm[r.i : r.i+n]})
		r.i += n
	}
	nImported, nGlobals := 0, 0
	names := map[int]string{}
	for _, s := range secs {
		r := &rd{b: s.body}
		switch s.id {
		case 2:
			n := int(r.u())
			for k := 0; k < n; k++ {
				m := int(r.u())
				r.i += m
				f := int(r.u())
				r.i += f
				kind := r.b[r.i]
				r.i++
				switch kind {
				case 0:
					r.u()
					nImported++
				case 1:
					r.i++
					fl := r.u()
					r.u()
					if fl&1 != 0 {
						r.u()
					}
				case 2:
					fl := r.u()
					r.u()
					if fl&1 != 0 {
						r.u()
					}
				case 3:
					r.i += 2
					nGlobals++
				}
			}
		case 6:
			nGlobals += int(r.u())
		case 0:
			nl := int(r.u())
			nm := string(r.b[r.i : r.i+nl])
			r.i += nl
			if nm != "name" {
				continue
			}
			for r.i < len(r.b) {
				sub := r.b[r.i]
				r.i++
				sz := int(r.u())
				end := r.i + sz
				if sub == 1 {
					n := int(r.u())
					for k := 0; k < n; k++ {
						idx := int(r.u())
						l := int(r.u())
						names[idx] = string(r.b[r.i : r.i+l])
						r.i += l
					}
				}
				r.i = end
			}
		}
	}
	counters := map[string]int{} // export name -> func idx
	var newGlobals, newExports [][]byte
	out := append([]byte(nil), wasm[:8]...)
	for si, s := range secs {
		body := s.body
		if s.id == 10 {
			r := &rd{b: s.body}
			n := int(r.u())
			nb := leb(uint64(n))
			for k := 0; k < n; k++ {
				sz := int(r.u())
				fb := r.b[r.i : r.i+sz]
				r.i += sz
				fr := &rd{b: fb}
				nloc := int(fr.u())
				for j := 0; j < nloc; j++ {
					fr.u()
					fr.i++
				}
				g := nGlobals + len(newGlobals)
				inc := append(append([]byte{0x23}, leb(uint64(g))...), 0x42, 0x01, 0x7c, 0x24)
				inc = append(inc, leb(uint64(g))...)
				var nf []byte
				nf = append(nf, fb[:fr.i]...)
				used := false
				last := fr.i
				for fr.i < len(fb) {
					op := fb[fr.i]
					fr.i++
					switch {
					case op == 0x02 || op == 0x04:
						bt := fb[fr.i]
						if bt == 0x40 || bt >= 0x6f {
							fr.i++
						} else {
							fr.skipLEB()
						}
					case op == 0x03:
						bt := fb[fr.i]
						if bt == 0x40 || bt >= 0x6f {
							fr.i++
						} else {
							fr.skipLEB()
						}
						nf = append(nf, fb[last:fr.i]...)
						nf = append(nf, inc...)
						last = fr.i
						used = true
					case op == 0x0c || op == 0x0d || op == 0x10 || (op >= 0x20 && op <= 0x26) || op == 0x3f || op == 0x40 || op == 0x41 || op == 0x42 || op == 0xd2:
						fr.skipLEB()
					case op == 0x0e:
						c := int(fr.u())
						for j := 0; j <= c; j++ {
							fr.skipLEB()
						}
					case op == 0x11:
						fr.skipLEB()
						fr.skipLEB()
					case op == 0x1c:
						c := int(fr.u())
						fr.i += c
					case op >= 0x28 && op <= 0x3e:
						fr.skipLEB()
						fr.skipLEB()
					case op == 0x43:
						fr.i += 4
					case op == 0x44:
						fr.i += 8
					case op == 0xd0:
						fr.i++
					case op == 0xfc:
						sub := fr.u()
						switch sub {
						case 8, 10, 12, 14:
							fr.skipLEB()
							fr.skipLEB()
						case 9, 11, 13, 15, 16, 17:
							fr.skipLEB()
						}
					case op == 0xfd:
						t.Fatalf("simd")
					}
				}
				nf = append(nf, fb[last:]...)
				if used {
					newGlobals = append(newGlobals, []byte{0x7e, 0x01, 0x42, 0x00, 0x0b})
					name := "cnt_" + strconv.Itoa(nImported+k)
					counters[name] = nImported + k
					newExports = append(newExports, append(append(append(leb(uint64(len(name))), name...), 0x03), leb(uint64(g))...))
				} else {
					nf = fb
				}
				nb = append(nb, leb(uint64(len(nf)))...)
				nb = append(nb, nf...)
			}
			body = nb
		}
		if s.id == 6 || s.id == 7 {
			r := &rd{b: s.body}
			n := int(r.u())
			rest := s.body[r.i:]
			var add [][]byte
			if s.id == 6 {
				// globals must be added before code is processed: handled below
				add = nil
			}
			_ = add
			body = append(leb(uint64(n)), rest...)
		}
		_ = si
		out = append(out, s.id)
		out = append(out, leb(uint64(len(body)))...)
		out = append(out, body...)
	}
	// second pass: patch global (6) and export (7) sections
	final := append([]byte(nil), out[:8]...)
	r = &rd{b: out, i: 8}
	for r.i < len(out) {
		id := out[r.i]
		r.i++
		n := int(r.u())
		body := out[r.i : r.i+n]
		r.i += n
		if id == 6 || id == 7 {
			br := &rd{b: body}
			c := int(br.u())
			rest := body[br.i:]
			extra := newGlobals
			if id == 7 {
				extra = newExports
			}
			nb := leb(uint64(c + len(extra)))
			nb = append(nb, rest...)
			for _, e := range extra {
				nb = append(nb, e...)
			}
			body = nb
		}
		final = append(final, id)
		final = append(final, leb(uint64(len(body)))...)
		final = append(final, body...)
	}
	return final, names, counters
}

// BenchmarkLoopHeaders counts the wasm loop headers a parse of the typical
// document executes in the embedded guest, per function. wazero's
// WithCloseOnContextDone (always on in wasmhost) calls out of the compiled
// code for a termination check at each one, and Go's wasm backend enters a
// function's loop at each call of a function with branches and at each taken
// branch, so this count, unlike a time on a shared machine, says exactly what
// a change to the guest saves. It instruments a copy of the module (a counter
// global per function, bumped after each loop opcode) and runs it without
// the checks; -v logs the top functions.
func BenchmarkLoopHeaders(b *testing.B) {
	// What wasmhost compiles: forward jumps rewritten (package gojumps).
	fast, _, err := gojumps.Rewrite(embedded.Module())
	if err != nil {
		b.Fatal(err)
	}
	iw, names, counters := instrument(b, fast)
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	mod, err := rt.InstantiateWithConfig(ctx, iw, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := mod.ExportedFunction("_initialize").Call(ctx); err != nil {
		b.Fatal(err)
	}
	input := wire.AppendInput(nil, rcml.Document{Body: []byte(typicalDoc), URL: docURL, ContentType: "text/xml"})
	alloc, hook := mod.ExportedFunction("patchbay_alloc"), mod.ExportedFunction("patchbay_hook_rcml_handle")
	call := func() {
		r, err := alloc.Call(ctx, uint64(len(input)))
		if err != nil {
			b.Fatal(err)
		}
		mod.Memory().Write(uint32(r[0]), input)
		if _, err = hook.Call(ctx, r[0], uint64(len(input))); err != nil {
			b.Fatal(err)
		}
	}
	read := func() map[string]uint64 {
		m := map[string]uint64{}
		for name := range counters {
			m[name] = mod.ExportedGlobal(name).Get()
		}
		return m
	}
	call() // warm: buffers, heap
	before := read()
	for b.Loop() {
		call()
	}
	after := read()
	type kv struct {
		name  string
		count uint64
	}
	var all []kv
	var total uint64
	for name, idx := range counters {
		if d := after[name] - before[name]; d > 0 {
			all = append(all, kv{names[idx], d})
			total += d
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].count > all[j].count })
	n := uint64(b.N)
	for i := 0; i < len(all) && i < 25; i++ {
		b.Logf("%7d %s", all[i].count/n, all[i].name)
	}
	b.ReportMetric(float64(total)/float64(n), "loop-headers/op")
}
