package media

import "encoding/binary"

// NewPCMClip returns a Clip of 8 kHz mono linear samples, for audio that
// was decoded or resampled from another format (MP3, other rates, speech).
// The samples are copied: a Clip is immutable and shared by every session
// that plays it, so it must not alias a buffer the caller may reuse.
func NewPCMClip(samples []int16) *Clip {
	data := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(s))
	}
	return newClip(samplesPCM16, data)
}

// Size is the number of bytes of audio the clip holds, which is what a
// cache of clips budgets for: 2 per sample for linear PCM, 1 for 8-bit,
// µ-law and A-law.
func (c *Clip) Size() int { return len(c.data) }
