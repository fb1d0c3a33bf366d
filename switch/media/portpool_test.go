package media

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
)

func TestPortPoolExhaustionAndRelease(t *testing.T) {
	pool := testPool(t, 3)
	if pool.Size() != 3 {
		t.Fatalf("Size = %d", pool.Size())
	}
	var ports []*Port
	for {
		p, err := pool.Allocate()
		if err != nil {
			if !errors.Is(err, ErrPoolExhausted) {
				t.Fatalf("Allocate: %v", err)
			}
			break
		}
		if p.Number()%2 != 0 || p.Addr().Addr() != loopback {
			t.Errorf("port %v: want an even port on 127.0.0.1", p.Addr())
		}
		ports = append(ports, p)
		if len(ports) > 3 {
			t.Fatal("allocated more ports than the pool has")
		}
	}
	if len(ports) == 0 {
		t.Fatal("no port could be bound")
	}
	if pool.InUse() != len(ports) {
		t.Errorf("InUse = %d, want %d", pool.InUse(), len(ports))
	}
	freed := ports[0].Number()
	if err := ports[0].Release(); err != nil {
		t.Fatal(err)
	}
	if err := ports[0].Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	if pool.InUse() != len(ports)-1 {
		t.Errorf("InUse after release = %d", pool.InUse())
	}
	again, err := pool.Allocate()
	if err != nil {
		t.Fatalf("Allocate after release: %v", err)
	}
	if again.Number() != freed {
		t.Errorf("got port %d, want the freed %d", again.Number(), freed)
	}
	ports[0] = again
	for _, p := range ports {
		_ = p.Release()
	}
	if pool.InUse() != 0 {
		t.Errorf("InUse = %d after releasing all", pool.InUse())
	}
}

func TestPortPoolSkipsPortsTakenElsewhere(t *testing.T) {
	// Another process holds the first port of the range.
	var (
		pool     *PortPool
		squatter *net.UDPConn
	)
	for range 20 {
		pool = testPool(t, 2)
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(pool.first))))
		if err == nil {
			squatter = c
			break
		}
	}
	if squatter == nil {
		t.Fatal("found no free port to squat on")
	}
	first := pool.first
	defer squatter.Close()
	p, err := pool.Allocate()
	if err != nil {
		if !errors.Is(err, ErrPoolExhausted) {
			t.Fatal(err)
		}
		return // the second port is busy too; the skip is still shown by the typed error
	}
	defer p.Release()
	if p.Number() != first+2 {
		t.Errorf("got port %d, want %d (skipping the taken one)", p.Number(), first+2)
	}
	if _, err := pool.Allocate(); !errors.Is(err, ErrPoolExhausted) {
		t.Errorf("third Allocate = %v, want ErrPoolExhausted", err)
	}
	if pool.InUse() != 1 {
		t.Errorf("InUse = %d: a port that failed to bind must not stay reserved", pool.InUse())
	}
}

func TestPortPoolConcurrent(t *testing.T) {
	pool := testPool(t, 16)
	var (
		mu   sync.Mutex
		held = map[int]bool{}
		wg   sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				p, err := pool.Allocate()
				if err != nil {
					continue // exhausted by the others for a moment
				}
				mu.Lock()
				if held[p.Number()] {
					t.Errorf("port %d handed out twice", p.Number())
				}
				held[p.Number()] = true
				mu.Unlock()
				mu.Lock()
				delete(held, p.Number())
				mu.Unlock()
				_ = p.Release()
			}
		}()
	}
	wg.Wait()
	if pool.InUse() != 0 {
		t.Errorf("InUse = %d after all releases", pool.InUse())
	}
}

func TestNewPortPoolRejects(t *testing.T) {
	for _, r := range [][2]int{{80, 100}, {30001, 30001}, {30000, 70000}, {31000, 30000}} {
		if _, err := NewPortPool(loopback, r[0], r[1]); err == nil {
			t.Errorf("NewPortPool(%d, %d) succeeded", r[0], r[1])
		}
	}
	if _, err := NewPortPool(netip.Addr{}, 30000, 30010); err == nil {
		t.Error("NewPortPool without IP succeeded")
	}
}
