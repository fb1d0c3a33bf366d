package media

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// PortPool hands out RTP ports (even numbers, RTCP is not bound) from a
// range, each bound on one IP address. It is safe for concurrent use.
//
// Ports are taken round-robin, so a port just released is reused as late as
// possible and stray packets of the previous call are unlikely to reach the
// next one. A port that fails to bind (taken by another process) is skipped.
type PortPool struct {
	ip    netip.Addr
	first int // even

	mu    sync.Mutex
	used  []bool // indexed by (port-first)/2
	inUse int
	next  int // index to try first
}

// NewPortPool makes a pool of the even ports in [first, last] on ip.
func NewPortPool(ip netip.Addr, first, last int) (*PortPool, error) {
	if !ip.IsValid() {
		return nil, fmt.Errorf("media: port pool needs an IP address")
	}
	if first%2 != 0 {
		first++
	}
	if first < 1024 || last > 65535 || first > last {
		return nil, fmt.Errorf("media: port range %d-%d is not within 1024-65535 or holds no even port", first, last)
	}
	return &PortPool{ip: ip, first: first, used: make([]bool, (last-first)/2+1)}, nil
}

// Size is the number of ports in the pool.
func (p *PortPool) Size() int { return len(p.used) }

// InUse is the number of ports allocated and not yet released.
func (p *PortPool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse
}

// Allocate binds the next free port. It returns an error wrapping
// ErrPoolExhausted when no port is free or none of the free ones binds.
func (p *PortPool) Allocate() (*Port, error) {
	var lastErr error
	for range len(p.used) {
		idx, ok := p.reserve()
		if !ok {
			break
		}
		number := p.first + 2*idx
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(number))))
		if err != nil {
			// Bind outside the lock, undo on failure: another process
			// holds this port, try the next one.
			p.unreserve(idx)
			lastErr = err
			continue
		}
		return &Port{pool: p, idx: idx, number: number, conn: conn}, nil
	}
	if lastErr != nil {
		return nil, fmt.Errorf("%w (%d in use; last bind error: %v)", ErrPoolExhausted, p.InUse(), lastErr)
	}
	return nil, fmt.Errorf("%w (%d in use)", ErrPoolExhausted, p.InUse())
}

func (p *PortPool) reserve() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range len(p.used) {
		idx := (p.next + i) % len(p.used)
		if !p.used[idx] {
			p.used[idx] = true
			p.inUse++
			p.next = (idx + 1) % len(p.used)
			return idx, true
		}
	}
	return 0, false
}

func (p *PortPool) unreserve(idx int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.used[idx] = false
	p.inUse--
}

// Port is one allocated RTP port with its bound socket.
type Port struct {
	pool   *PortPool
	idx    int
	number int
	conn   *net.UDPConn
	once   sync.Once
}

// Number is the UDP port number.
func (pt *Port) Number() int { return pt.number }

// Addr is the local address the port is bound on.
func (pt *Port) Addr() netip.AddrPort { return netip.AddrPortFrom(pt.pool.ip, uint16(pt.number)) }

// Conn is the bound socket. It is closed by Release.
func (pt *Port) Conn() *net.UDPConn { return pt.conn }

// Release closes the socket and returns the port to the pool. It may be
// called more than once; later calls do nothing.
func (pt *Port) Release() error {
	var err error
	pt.once.Do(func() {
		err = pt.conn.Close()
		pt.pool.unreserve(pt.idx)
	})
	if err != nil {
		return fmt.Errorf("media: release port %d: %w", pt.number, err)
	}
	return nil
}
