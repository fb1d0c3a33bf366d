package memcap

import "testing"

func TestReallocateRefusesPastTheCap(t *testing.T) {
	m := New(4 << 16)
	b := m.Reallocate(2 << 16)
	if len(b) != 2<<16 {
		t.Fatalf("len = %d, want %d", len(b), 2<<16)
	}
	b[10] = 7
	b = m.Reallocate(4 << 16)
	if len(b) != 4<<16 || b[10] != 7 {
		t.Fatalf("grow to the cap lost content or size: len %d, b[10] %d", len(b), b[10])
	}
	if m.LimitHit() {
		t.Fatal("LimitHit after grows within the cap")
	}
	if got := m.Reallocate(5 << 16); got != nil {
		t.Fatalf("grow past the cap returned %d bytes", len(got))
	}
	if !m.LimitHit() {
		t.Fatal("LimitHit false after a refused grow")
	}
	if m.Bytes() > 4<<16 {
		t.Fatalf("Bytes = %d, over the cap", m.Bytes())
	}
}

func TestReallocateZeroesNewPages(t *testing.T) {
	m := New(1 << 20)
	b := m.Reallocate(1 << 16)
	for i := range b {
		b[i] = 0xff
	}
	b = m.Reallocate(3 << 16)
	for i := 1 << 16; i < len(b); i++ {
		if b[i] != 0 {
			t.Fatalf("byte %d of a new page is %#x", i, b[i])
		}
	}
}
