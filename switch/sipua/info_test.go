package sipua

import "testing"

func TestParseDTMFBodies(t *testing.T) {
	relay := []struct {
		body string
		want byte
		ok   bool
	}{
		{"Signal=5\r\nDuration=160\r\n", '5', true},
		{"signal= #\nDuration=100", '#', true},
		{"Duration=160\r\nSignal=11\r\n", '#', true},
		{"Signal=10", '*', true},
		{"Signal=d", 'D', true},
		{"Duration=160\r\n", 0, false},
		{"Signal=16", 0, false},
		{"Signal=55", 0, false},
		{"", 0, false},
	}
	for _, c := range relay {
		got, ok := parseDTMFRelay([]byte(c.body))
		if got != c.want || ok != c.ok {
			t.Errorf("parseDTMFRelay(%q) = %q, %v; want %q, %v", c.body, got, ok, c.want, c.ok)
		}
	}
	plain := map[string]byte{"0": '0', "9": '9', "*": '*', "A": 'A', "12": 'A', "15": 'D'}
	for in, want := range plain {
		if got, ok := parseDTMFDigit(in); !ok || got != want {
			t.Errorf("parseDTMFDigit(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "9 9", "E"} {
		if _, ok := parseDTMFDigit(in); ok {
			t.Errorf("parseDTMFDigit(%q) accepted", in)
		}
	}
}
