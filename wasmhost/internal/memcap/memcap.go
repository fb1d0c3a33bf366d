// Package memcap backs a guest's linear memory with a buffer that refuses to
// grow past a per-instance cap and remembers that it did.
//
// wazero's own cap (RuntimeConfig.WithMemoryLimitPages) is runtime-wide and
// a refused grow is indistinguishable from any other trap. A cap per
// instance lets one runtime serve modules with different caps, and the
// remembered refusal lets the host report "memory limit" rather than a bare
// trap.
package memcap

// Memory is one guest memory. It is used by one goroutine at a time: the
// one running the guest (grows happen inside guest calls), then the one
// that inspects it after the call returned.
type Memory struct {
	limit uint64
	buf   []byte
	hit   bool
}

// New returns a Memory that never grows past limit bytes.
func New(limit uint64) *Memory { return &Memory{limit: limit} }

// Reallocate grows the memory to size bytes, or returns nil (the guest's
// memory.grow then returns -1) when size is over the cap.
func (m *Memory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.hit = true
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		// Memory never shrinks, so bytes past the old length were never
		// handed out and are still zero.
		m.buf = m.buf[:size]
		return m.buf
	}
	// Grow the backing array by at least a quarter to amortise copying
	// for guests that grow in small steps, but never past the cap.
	newCap := max(size, uint64(cap(m.buf))+uint64(cap(m.buf))/4)
	newCap = min(newCap, m.limit)
	nb := make([]byte, size, newCap)
	copy(nb, m.buf)
	m.buf = nb
	return nb
}

// Free drops the buffer.
func (m *Memory) Free() { m.buf = nil }

// LimitHit reports whether the guest ever asked for more than the cap.
func (m *Memory) LimitHit() bool { return m.hit }

// Bytes is the memory the buffer holds, its capacity included.
func (m *Memory) Bytes() int64 { return int64(cap(m.buf)) }
