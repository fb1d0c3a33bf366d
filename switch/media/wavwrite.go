package media

import (
	"encoding/binary"
	"math"
	"time"
)

// wavHeaderSize is the size of the header putPCM16WAVHeader writes: RIFF,
// a 16-byte fmt chunk and the data chunk's header.
const wavHeaderSize = 44

// putPCM16WAVHeader writes into b the header of an 8 kHz mono PCM16 WAV
// file whose data chunk holds dataBytes.
func putPCM16WAVHeader(b []byte, dataBytes uint32) {
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], wavHeaderSize-8+dataBytes)
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)        // fmt chunk size
	binary.LittleEndian.PutUint16(b[20:], wavPCM)    // format tag
	binary.LittleEndian.PutUint16(b[22:], 1)         // mono
	binary.LittleEndian.PutUint32(b[24:], ClockRate) // sample rate
	binary.LittleEndian.PutUint32(b[28:], 2*ClockRate)
	binary.LittleEndian.PutUint16(b[32:], 2)  // block align
	binary.LittleEndian.PutUint16(b[34:], 16) // bits per sample
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], dataBytes)
}

// ToneWAV returns a WAV file (8 kHz mono PCM16) holding d of a sine tone:
// hold music for examples, prompts for tests and load scripts.
func ToneWAV(d time.Duration, hz float64, amplitude int16) []byte {
	n := int(d.Seconds() * ClockRate)
	b := make([]byte, wavHeaderSize+2*n)
	putPCM16WAVHeader(b, uint32(2*n))
	for i := 0; i < n; i++ {
		v := int16(float64(amplitude) * math.Sin(2*math.Pi*hz*float64(i)/ClockRate))
		binary.LittleEndian.PutUint16(b[wavHeaderSize+2*i:], uint16(v))
	}
	return b
}
