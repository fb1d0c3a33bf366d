package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/patchbay/patchbay/plugins/rcml"
)

// InputVersion is the first byte of every input. A guest refuses any other
// version, so a host and a guest built from different revisions of this
// package fail loudly instead of misreading each other.
const InputVersion = 1

// inputHeader is the version byte and the two length prefixes.
const inputHeader = 1 + 4 + 4

// ErrBadInput is returned by DecodeInput for bytes that are not a version 1 input.
var ErrBadInput = errors.New("wire: bad rcml_handle input")

// InputSize is the length of the input AppendInput writes for d.
func InputSize(d rcml.Document) int {
	return inputHeader + len(d.URL) + len(d.ContentType) + len(d.Body)
}

// AppendInput appends the input encoding of d to dst:
//
//	u8     version (1)
//	u32le  length of the URL, then its bytes
//	u32le  length of the content type, then its bytes
//	       the body: every remaining byte
func AppendInput(dst []byte, d rcml.Document) []byte {
	dst = append(dst, InputVersion)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(d.URL)))
	dst = append(dst, d.URL...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(d.ContentType)))
	dst = append(dst, d.ContentType...)
	return append(dst, d.Body...)
}

// DecodeInput decodes an input written by AppendInput. The returned Body
// aliases in; the strings are copies.
func DecodeInput(in []byte) (rcml.Document, error) {
	if len(in) < inputHeader {
		return rcml.Document{}, fmt.Errorf("%w: %d bytes, shorter than the header", ErrBadInput, len(in))
	}
	if in[0] != InputVersion {
		return rcml.Document{}, fmt.Errorf("%w: version %d, this guest speaks version %d", ErrBadInput, in[0], InputVersion)
	}
	rest := in[1:]
	url, rest, ok := cutField(rest)
	if !ok {
		return rcml.Document{}, fmt.Errorf("%w: URL length past the end", ErrBadInput)
	}
	contentType, rest, ok := cutField(rest)
	if !ok {
		return rcml.Document{}, fmt.Errorf("%w: content type length past the end", ErrBadInput)
	}
	return rcml.Document{URL: string(url), ContentType: string(contentType), Body: rest}, nil
}

// cutField splits a u32le length-prefixed field off the front of b.
func cutField(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if uint64(n) > uint64(len(b)) {
		return nil, nil, false
	}
	return b[:n], b[n:], true
}
