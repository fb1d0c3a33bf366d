package sipuatest

import (
	"bytes"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// wireObserver parses a private copy of every message the transports read,
// in the order they arrive, before sipgo forks a goroutine per message. It
// exists because sipgo's INVITE client transaction drops a 1xx processed
// after the 2xx (a 180 directly followed by 200 loses the 180 about half
// the time), so provisional responses are recorded here instead.
type wireObserver struct {
	p      *Peer
	parser *sip.Parser // read-only after creation, shared by all readers

	mu      sync.Mutex
	streams map[string]*sip.ParserStream // per TCP connection, used by its reader only
}

func newWireObserver(p *Peer) *wireObserver {
	return &wireObserver{p: p, parser: sip.NewParser(), streams: map[string]*sip.ParserStream{}}
}

// filter is sipgo's TransportReadFilter; it returns data unchanged.
func (w *wireObserver) filter(props sip.TransportReadProps, data []byte) ([]byte, error) {
	if w.p.closing.Load() {
		return nil, nil // dropped: see Peer.sweepLateConnections
	}
	own := bytes.Clone(data) // sipgo reuses its read buffer
	if props.Transport == "UDP" {
		if msg, err := w.parser.ParseSIP(own); err == nil {
			w.observe(msg)
		}
		return data, nil
	}
	key := props.LocalAddr.String() + "|" + props.RemoteAddr.String()
	w.mu.Lock()
	st, ok := w.streams[key]
	if !ok {
		st = w.parser.NewSIPStream()
		w.streams[key] = st
	}
	w.mu.Unlock()
	if err := st.ParseSIPStream(own, w.observe); err != nil && err != sip.ErrParseSipPartial {
		st.Reset()
	}
	return data, nil
}

func (w *wireObserver) observe(msg sip.Message) {
	res, ok := msg.(*sip.Response)
	if !ok || !res.IsProvisional() {
		return
	}
	cseq, callID, from := res.CSeq(), res.CallID(), res.From()
	if cseq == nil || callID == nil || from == nil || cseq.MethodName != sip.INVITE {
		return
	}
	tag, _ := from.Params.Get("tag")
	c := w.p.lookup(callID.Value(), tag)
	if c == nil || !c.outgoing {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.invite == nil || cseq.SeqNo != inviteCSeq {
		return
	}
	c.provisionals = append(c.provisionals, res.StatusCode)
	c.notifyLocked()
}
