package registrar

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

// nonces issues and checks digest nonces without remembering them: a nonce
// is its issue time and some randomness, signed with a secret that lives only
// in this process. A nonce from another process (before a restart) or older
// than the lifetime is "stale": the client retries with a fresh one without
// asking its user again. Accepted responses are remembered until their nonce
// can no longer be valid, so a captured request cannot be replayed.
type nonces struct {
	secret   [32]byte
	lifetime time.Duration

	mu    sync.Mutex
	seen  map[string]struct{} // accepted (nonce, cnonce, nc, response) tuples
	order []seenEntry         // seen keys in acceptance order, for pruning
	limit int
}

type seenEntry struct {
	key   string
	until time.Time
}

const (
	nonceTimeLen = 8
	nonceRandLen = 8
	nonceMACLen  = 16
	nonceLen     = nonceTimeLen + nonceRandLen + nonceMACLen
	// maxClockSkew tolerates a nonce "from the future" by this much, for a
	// clock stepped back a little while the process ran.
	maxClockSkew = 5 * time.Second
)

func newNonces(lifetime time.Duration, limit int) *nonces {
	n := &nonces{lifetime: lifetime, seen: make(map[string]struct{}), limit: limit}
	if _, err := rand.Read(n.secret[:]); err != nil {
		// crypto/rand does not fail on supported platforms; without it no
		// secret can be made, and predictable nonces would be worse.
		panic("registrar: crypto/rand failed: " + err.Error())
	}
	return n
}

// issue returns a fresh nonce, hex-encoded.
func (n *nonces) issue(now time.Time) string {
	var b [nonceLen]byte
	binary.BigEndian.PutUint64(b[:nonceTimeLen], uint64(now.UnixNano()))
	_, _ = rand.Read(b[nonceTimeLen : nonceTimeLen+nonceRandLen])
	copy(b[nonceTimeLen+nonceRandLen:], n.mac(b[:nonceTimeLen+nonceRandLen]))
	return hex.EncodeToString(b[:])
}

// fresh reports whether nonce was issued by this process and is not older
// than the lifetime.
func (n *nonces) fresh(nonce string, now time.Time) bool {
	b, err := hex.DecodeString(nonce)
	if err != nil || len(b) != nonceLen {
		return false
	}
	if subtle.ConstantTimeCompare(n.mac(b[:nonceTimeLen+nonceRandLen]), b[nonceTimeLen+nonceRandLen:]) != 1 {
		return false
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(b[:nonceTimeLen])))
	age := now.Sub(issued)
	return age >= -maxClockSkew && age <= n.lifetime
}

func (n *nonces) mac(b []byte) []byte {
	h := hmac.New(sha256.New, n.secret[:])
	h.Write(b)
	return h.Sum(nil)[:nonceMACLen]
}

// firstUse records key (a tuple identifying one digest response) and reports
// whether it was new. Entries are kept for a nonce lifetime after acceptance,
// which outlasts the nonce, and at most limit of them (oldest dropped first).
func (n *nonces) firstUse(key string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for len(n.order) > 0 && (now.After(n.order[0].until) || len(n.order) >= n.limit) {
		delete(n.seen, n.order[0].key)
		n.order[0] = seenEntry{}
		n.order = n.order[1:]
	}
	if _, dup := n.seen[key]; dup {
		return false
	}
	n.seen[key] = struct{}{}
	n.order = append(n.order, seenEntry{key: key, until: now.Add(n.lifetime)})
	return true
}
