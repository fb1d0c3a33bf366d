package gojumps

import (
	"errors"
	"fmt"
)

// Opcodes this package looks at; the others it only skips.
const (
	opBlock    = 0x02
	opLoop     = 0x03
	opIf       = 0x04
	opEnd      = 0x0b
	opBr       = 0x0c
	opBrIf     = 0x0d
	opBrTable  = 0x0e
	opLocalGet = 0x20
	opLocalSet = 0x21
	opI32Const = 0x41

	blockTypeEmpty = 0x40
)

var errTruncated = errors.New("gojumps: truncated")

// reader decodes the parts of the binary format the rewrite needs.
type reader struct {
	b []byte
	i int
}

func (r *reader) byte() (byte, error) {
	if r.i >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.i]
	r.i++
	return c, nil
}

func (r *reader) u32() (uint32, error) {
	v, err := r.uleb(5)
	if err != nil {
		return 0, err
	}
	if v > 1<<32-1 {
		return 0, errors.New("gojumps: u32 out of range")
	}
	return uint32(v), nil
}

func (r *reader) u64() (uint64, error) { return r.uleb(10) }

// uleb reads an unsigned LEB128 of at most maxBytes bytes.
func (r *reader) uleb(maxBytes int) (uint64, error) {
	var v uint64
	for i := range maxBytes {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("gojumps: LEB128 too long")
}

// s64 reads a signed LEB128 of up to 64 bits (i32.const, i64.const and
// s33 block types all fit).
func (r *reader) s64() (int64, error) {
	var v int64
	var shift uint
	for shift < 70 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c < 0x80 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
	}
	return 0, errors.New("gojumps: signed LEB128 too long")
}

func (r *reader) skip(n int) error {
	if n < 0 || r.i+n > len(r.b) {
		return errTruncated
	}
	r.i += n
	return nil
}

func (r *reader) skipLocals() error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for range n {
		if _, err := r.u32(); err != nil {
			return err
		}
		if err := r.skip(1); err != nil {
			return err
		}
	}
	return nil
}

// blockType skips a block type: empty, a value type, or a type index.
func (r *reader) blockType() error {
	if r.i >= len(r.b) {
		return errTruncated
	}
	switch c := r.b[r.i]; {
	case c == blockTypeEmpty || (c >= 0x6f && c <= 0x7f):
		r.i++
		return nil
	}
	_, err := r.s64()
	return err
}

// skipImmediates skips the immediates of op (already read), for the
// instructions of WebAssembly 2.0 without SIMD: what the Go toolchain and
// most others emit. Anything else is an error, and the module is left as
// it was.
func (r *reader) skipImmediates(op byte) error {
	switch {
	case op <= 0x01, op == 0x05, op == 0x0f, op == 0x1a, op == 0x1b,
		op >= 0x45 && op <= 0xc4, op == 0xd1:
		return nil // no immediates
	case op == 0x0d, op == 0x10, op >= 0x20 && op <= 0x26, op == 0xd2:
		_, err := r.u32()
		return err
	case op == 0x0e:
		n, err := r.u32()
		if err != nil {
			return err
		}
		if int(n) >= len(r.b) {
			return errTruncated
		}
		for range n + 1 {
			if _, err := r.u32(); err != nil {
				return err
			}
		}
		return nil
	case op == 0x11:
		if _, err := r.u32(); err != nil {
			return err
		}
		_, err := r.u32()
		return err
	case op == 0x1c:
		n, err := r.u32()
		if err != nil {
			return err
		}
		return r.skip(int(n))
	case op >= 0x28 && op <= 0x3e: // memarg: align, offset
		if _, err := r.u32(); err != nil {
			return err
		}
		_, err := r.u64()
		return err
	case op == 0x3f, op == 0x40:
		_, err := r.u32()
		return err
	case op == 0x42:
		_, err := r.s64()
		return err
	case op == 0x43:
		return r.skip(4)
	case op == 0x44:
		return r.skip(8)
	case op == 0xd0:
		return r.skip(1)
	case op == 0xfc:
		return r.skipMisc()
	}
	return fmt.Errorf("gojumps: opcode %#x not handled", op)
}

// skipMisc skips a 0xfc-prefixed instruction: saturating conversions,
// bulk memory and table operations.
func (r *reader) skipMisc() error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	var n int // index immediates
	switch {
	case sub <= 7:
		n = 0
	case sub == 9, sub == 11, sub == 13, sub >= 15 && sub <= 17:
		n = 1
	case sub == 8, sub == 10, sub == 12, sub == 14:
		n = 2
	default:
		return fmt.Errorf("gojumps: opcode 0xfc %d not handled", sub)
	}
	for range n {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}
