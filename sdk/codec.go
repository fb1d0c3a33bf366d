package sdk

import (
	"encoding/json"
	"fmt"
)

// AppendRedirectInput appends the JSON encoding of in to dst.
func AppendRedirectInput(dst []byte, in RedirectInput) []byte {
	b, _ := json.Marshal(in)
	return append(dst, b...)
}

// AppendHangupInput appends the JSON encoding of in to dst.
func AppendHangupInput(dst []byte, in HangupInput) []byte {
	b, _ := json.Marshal(in)
	return append(dst, b...)
}

// AppendDecision appends the JSON encoding of d to dst.
func AppendDecision(dst []byte, d Decision) []byte {
	b, _ := json.Marshal(d)
	return append(dst, b...)
}

// DecodeRedirectInput decodes a redirect hook input.
func DecodeRedirectInput(b []byte, in *RedirectInput) error {
	if err := json.Unmarshal(b, in); err != nil {
		return fmt.Errorf("sdk: decoding redirect input: %w", err)
	}
	return nil
}

// DecodeHangupInput decodes a hangup hook input.
func DecodeHangupInput(b []byte, in *HangupInput) error {
	if err := json.Unmarshal(b, in); err != nil {
		return fmt.Errorf("sdk: decoding hangup input: %w", err)
	}
	return nil
}

// DecodeDecision decodes a hook's output.
func DecodeDecision(b []byte, d *Decision) error {
	if err := json.Unmarshal(b, d); err != nil {
		return fmt.Errorf("sdk: decoding decision: %w", err)
	}
	return nil
}
