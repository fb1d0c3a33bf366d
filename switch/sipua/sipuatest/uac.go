package sipuatest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// inviteCSeq is the CSeq number of every initial INVITE the peer sends.
const inviteCSeq = 1

// InviteOptions shapes an outgoing INVITE.
type InviteOptions struct {
	// Codecs to offer, in order of preference. Default: PCMU, PCMA. The
	// offer always adds telephone-event on payload type 101.
	Codecs []Codec
	// Headers are added to the INVITE (e.g. X- headers).
	Headers map[string]string
	// From is the From user; default the peer's user (WithUser).
	From string
	// Transport is "udp" (default) or "tcp" (needs WithTCP).
	Transport string
	// NoSDP sends the INVITE without a body (late offer): an offer in the
	// 2xx is answered in the ACK.
	NoSDP bool
	// RawSDP, when set, is sent as the body verbatim (Content-Type
	// application/sdp), e.g. to test malformed offers.
	RawSDP []byte
}

// Invite places a call to target (e.g. "sip:+1555@127.0.0.1:5060") and
// waits for the final response: a 2xx is ACKed and the call is up; any
// other final ends it. Provisional responses are in c.Provisionals(). A
// final status is not an error; the error is for failures to send, a
// transaction with no final response (ErrNoFinal) or ctx ending, in which
// case the call is canceled before returning.
func (p *Peer) Invite(ctx context.Context, target string, o InviteOptions) (*Call, error) {
	c, err := p.InviteAsync(ctx, target, o)
	if err != nil {
		return nil, err
	}
	if _, err := c.WaitFinal(ctx); err != nil {
		if ctx.Err() != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = c.Cancel(cctx)
			cancel()
		}
		return c, err
	}
	return c, nil
}

// InviteAsync sends the INVITE and returns at once; follow the call with
// WaitProvisional, WaitFinal, Cancel. ctx bounds only the sending.
func (p *Peer) InviteAsync(ctx context.Context, target string, o InviteOptions) (*Call, error) {
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		return nil, fmt.Errorf("sipuatest: parse target %q: %w", target, err)
	}
	transport, err := transportOf(o.Transport)
	if err != nil {
		return nil, err
	}
	if transport == "TCP" && p.tcpLn == nil {
		return nil, errors.New("sipuatest: TCP call on a peer without WithTCP")
	}
	if !p.enter() {
		return nil, ErrPeerClosed
	}
	defer p.wg.Done()

	codecs := o.Codecs
	if len(codecs) == 0 {
		codecs = []Codec{PCMU, PCMA}
	}
	user := o.From
	if user == "" {
		user = p.cfg.user
	}
	c, err := p.newCall(true, sip.GenerateTagN(16)+"@sipuatest", sip.GenerateTagN(12), transport)
	if err != nil {
		return nil, err
	}
	c.local = sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1"}
	c.remote = sip.Uri{Scheme: uri.Scheme, User: uri.User, Host: uri.Host, Port: uri.Port}
	c.remoteTarget = uri
	c.cseq = inviteCSeq

	req := sip.NewRequest(sip.INVITE, uri)
	req.SetTransport(transport)
	if transport == "UDP" {
		req.Laddr = p.udpLaddr()
	}
	req.AppendHeader(&sip.FromHeader{Address: c.local, Params: sip.HeaderParams{{K: "tag", V: c.localTag}}})
	req.AppendHeader(&sip.ToHeader{Address: c.remote, Params: sip.NewParams()})
	callID := sip.CallIDHeader(c.callID)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: inviteCSeq, MethodName: sip.INVITE})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(p.contact(user, transport))
	req.AppendHeader(sip.NewHeader("User-Agent", "sipuatest"))
	for _, name := range slices.Sorted(maps.Keys(o.Headers)) {
		req.AppendHeader(sip.NewHeader(name, o.Headers[name]))
	}
	var body []byte
	switch {
	case o.RawSDP != nil:
		body = o.RawSDP
	case !o.NoSDP:
		body = buildSDP(c.rtp.port(), 1, codecs, DefaultTelephoneEventPT)
	}
	if body != nil {
		ct := sip.ContentTypeHeader("application/sdp")
		req.AppendHeader(&ct)
	}
	req.SetBody(body)
	c.localSDP = body
	c.invite = req
	c.inviteURI = uri
	c.lateOffer = body == nil
	c.codecPrefs = codecs
	p.register(c)

	var tx sip.ClientTransaction
	err = p.sending(func() (err error) {
		tx, err = p.cli.TransactionRequest(ctx, req)
		return err
	})
	if err != nil {
		p.unregister(c)
		c.end("INVITE not sent")
		return nil, fmt.Errorf("sipuatest: send INVITE to %s: %w", target, err)
	}
	// The Via (with the branch CANCEL must reuse) is final once sent.
	c.mu.Lock()
	c.inviteVia = req.Via().Clone()
	c.mu.Unlock()
	p.log.Info("INVITE sent", "call_id", c.callID, "to", target, "transport", transport)
	if !p.goTracked(func() { c.readInviteResponses(tx) }) {
		tx.Terminate()
	}
	return c, nil
}

// newCall creates a call with its RTP socket and reader.
func (p *Peer) newCall(outgoing bool, callID, localTag, transport string) (*Call, error) {
	var c *Call
	rtp, err := newRTPSession(p.log, func() { c.notify() })
	if err != nil {
		return nil, err
	}
	c = newCall(p, outgoing, callID, localTag, transport, rtp)
	if !p.goTracked(rtp.run) {
		rtp.close()
		return nil, ErrPeerClosed
	}
	return c, nil
}

func (p *Peer) udpLaddr() sip.Addr {
	a := p.udpConn.LocalAddr().(*net.UDPAddr)
	return sip.Addr{IP: a.IP, Port: a.Port, Hostname: a.IP.String()}
}

// contact is the Contact header for a call on transport.
func (p *Peer) contact(user, transport string) *sip.ContactHeader {
	addr := p.udpConn.LocalAddr().(*net.UDPAddr).Port
	uri := sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: addr}
	if transport == "TCP" {
		uri.Port = p.tcpLn.Addr().(*net.TCPAddr).Port
		uri.UriParams = sip.HeaderParams{{K: "transport", V: "tcp"}}
	}
	return &sip.ContactHeader{Address: uri}
}

// readInviteResponses follows the INVITE transaction to its final
// response. Provisionals are recorded by the wire observer, which always
// sees a message before the transaction does.
func (c *Call) readInviteResponses(tx sip.ClientTransaction) {
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			c.onFinal(res, tx)
			return
		case <-tx.Done():
			err := tx.Err()
			c.mu.Lock()
			if !c.finalDone {
				c.finalDone = true
				c.finalErr = fmt.Errorf("INVITE %s: %w: %w", c.callID, ErrNoFinal, err)
			}
			ended := c.endLocked("INVITE transaction failed")
			c.mu.Unlock()
			c.afterEnd(ended, "INVITE transaction failed")
			return
		case <-c.peer.done:
			tx.Terminate()
			return
		}
	}
}

func (c *Call) onFinal(res *sip.Response, tx sip.ClientTransaction) {
	p := c.peer
	p.log.Info("INVITE final", "call_id", c.callID, "status", res.StatusCode)
	// Media first: whoever waits for the final may send RTP at once.
	var ackBody []byte
	if res.IsSuccess() && len(res.Body()) > 0 {
		ackBody = c.applyRemoteSDP(res.Body(), c.lateOffer)
	}
	c.mu.Lock()
	c.final = res.StatusCode
	c.finalDone = true
	c.headers = snapshotHeaders(res)
	if res.IsSuccess() {
		c.established = true
		if to := res.To(); to != nil {
			c.remoteTag, _ = to.Params.Get("tag")
		}
		if ct := res.Contact(); ct != nil {
			c.remoteTarget = ct.Address
		}
		c.remoteSDP = append([]byte(nil), res.Body()...)
	}
	reason := fmt.Sprintf("final %d", res.StatusCode)
	ended := !res.IsSuccess() && c.endLocked(reason)
	c.notifyLocked()
	c.mu.Unlock()
	if !res.IsSuccess() {
		// sipgo's transaction ACKs non-2xx finals itself.
		c.afterEnd(ended, reason)
		return
	}
	c.sendAck(ackBody)
	// A lost ACK makes the remote retransmit its 2xx: ACK each copy.
	tx.OnRetransmission(func(*sip.Response) { c.resendAck() })
}

// applyRemoteSDP points the RTP session at the remote media. With isOffer
// (a late offer in a 2xx, or an INVITE offer) it returns the answer to
// send; otherwise it returns nil.
func (c *Call) applyRemoteSDP(body []byte, isOffer bool) []byte {
	m, err := parseMedia(body)
	if err != nil {
		c.peer.log.Warn("remote SDP unusable", "call_id", c.callID, "err", err)
		return nil
	}
	if !isOffer {
		codec, _ := m.firstAudio()
		c.rtp.setRemote(m.addr, codec, m.eventPT, m.eventPT)
		return nil
	}
	codec, err := chooseAnswer(m, c.codecPrefs)
	if err != nil {
		c.peer.log.Warn("remote SDP offer unusable", "call_id", c.callID, "err", err)
		return nil
	}
	c.rtp.setRemote(m.addr, codec, m.eventPT, m.eventPT)
	answer := buildSDP(c.rtp.port(), 2, []Codec{codec}, m.eventPT)
	c.mu.Lock()
	c.localSDP = answer
	c.mu.Unlock()
	return answer
}

// inDialogRequest builds a request within the call's dialog (Via is added
// by sipgo when it is sent).
func (c *Call) inDialogRequest(method sip.RequestMethod, cseq uint32) *sip.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	req := sip.NewRequest(method, c.remoteTarget)
	req.SetTransport(c.transport)
	if c.transport == "UDP" {
		req.Laddr = c.peer.udpLaddr()
	}
	local := &sip.FromHeader{Address: c.local, Params: sip.HeaderParams{{K: "tag", V: c.localTag}}}
	remote := &sip.ToHeader{Address: c.remote, Params: sip.NewParams()}
	if c.remoteTag != "" {
		remote.Params.Add("tag", c.remoteTag)
	}
	req.AppendHeader(local)
	req.AppendHeader(remote)
	callID := sip.CallIDHeader(c.callID)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	return req
}

func (c *Call) sendAck(body []byte) {
	ack := c.inDialogRequest(sip.ACK, inviteCSeq)
	if body != nil {
		ct := sip.ContentTypeHeader("application/sdp")
		ack.AppendHeader(&ct)
	}
	ack.SetBody(body)
	c.ackMu.Lock()
	defer c.ackMu.Unlock()
	c.mu.Lock()
	c.ack = ack
	c.mu.Unlock()
	if err := c.peer.sending(func() error { return c.peer.cli.WriteRequest(ack) }); err != nil {
		c.peer.log.Warn("send ACK", "call_id", c.callID, "err", err)
	}
}

// resendAck writes the ACK already built for the call's 2xx again.
func (c *Call) resendAck() {
	c.ackMu.Lock()
	defer c.ackMu.Unlock()
	c.mu.Lock()
	ack := c.ack
	c.mu.Unlock()
	if ack == nil {
		return
	}
	if err := c.peer.sending(func() error { return c.peer.cli.WriteRequest(ack, keepAsBuilt) }); err != nil {
		c.peer.log.Warn("resend ACK", "call_id", c.callID, "err", err)
	}
}

// keepAsBuilt is a sipgo request option that adds nothing: the request
// already has every header (a retransmitted ACK, a CANCEL).
func keepAsBuilt(*sipgo.Client, *sip.Request) error { return nil }

// Cancel sends CANCEL for an outgoing call that has no final response yet
// and waits for the CANCEL's own response; the INVITE's final (normally
// 487) follows and is seen by WaitFinal. Per RFC 3261 §9.1 it first waits
// for a provisional response. Canceling an answered call is an error.
func (c *Call) Cancel(ctx context.Context) error {
	if !c.outgoing {
		return errors.New("sipuatest: Cancel on an incoming call")
	}
	if err := c.wait(ctx, "provisional before CANCEL", func() bool {
		return len(c.provisionals) > 0 || c.finalDone
	}); err != nil {
		return err
	}
	c.mu.Lock()
	if c.finalDone {
		code := c.final
		c.mu.Unlock()
		return fmt.Errorf("sipuatest: cancel call %s: already final %d", c.callID, code)
	}
	req := sip.NewRequest(sip.CANCEL, c.inviteURI)
	req.SetTransport(c.transport)
	if c.transport == "UDP" {
		req.Laddr = c.peer.udpLaddr()
	}
	req.AppendHeader(c.inviteVia.Clone())
	req.AppendHeader(&sip.FromHeader{Address: c.local, Params: sip.HeaderParams{{K: "tag", V: c.localTag}}})
	req.AppendHeader(&sip.ToHeader{Address: c.remote, Params: sip.NewParams()})
	callID := sip.CallIDHeader(c.callID)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: inviteCSeq, MethodName: sip.CANCEL})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.SetBody(nil)
	c.mu.Unlock()
	res, err := c.peer.do(ctx, req, keepAsBuilt)
	if err != nil {
		return fmt.Errorf("sipuatest: CANCEL call %s: %w", c.callID, err)
	}
	c.peer.log.Info("CANCEL answered", "call_id", c.callID, "status", res.StatusCode)
	if !res.IsSuccess() {
		return fmt.Errorf("sipuatest: CANCEL call %s answered %d", c.callID, res.StatusCode)
	}
	return nil
}

// Bye hangs up an established call and waits for the BYE's response. The
// call is ended whatever the response.
func (c *Call) Bye(ctx context.Context) error {
	c.mu.Lock()
	switch {
	case c.ended:
		c.mu.Unlock()
		return fmt.Errorf("sipuatest: BYE on call %s: %w", c.callID, ErrCallEnded)
	case !c.established:
		c.mu.Unlock()
		return fmt.Errorf("sipuatest: BYE on call %s: %w", c.callID, ErrNotEstablished)
	}
	c.cseq++
	cseq := c.cseq
	c.byeSent = true
	c.mu.Unlock()
	req := c.inDialogRequest(sip.BYE, cseq)
	req.SetBody(nil)
	res, err := c.peer.do(ctx, req)
	c.end("BYE sent")
	if err != nil {
		return fmt.Errorf("sipuatest: BYE on call %s: %w", c.callID, err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("sipuatest: BYE on call %s answered %d %s", c.callID, res.StatusCode, strings.TrimSpace(res.Reason))
	}
	return nil
}

// ReInvite sends a re-INVITE on an established call offering our current
// media with the given direction ("sendonly" puts the remote on hold,
// "sendrecv" resumes), ACKs a 2xx, and returns the final status and the
// answer SDP.
func (c *Call) ReInvite(ctx context.Context, direction string) (int, []byte, error) {
	c.mu.Lock()
	if !c.established || c.ended {
		c.mu.Unlock()
		return 0, nil, fmt.Errorf("sipuatest: re-INVITE on call %s: %w", c.callID, ErrNotEstablished)
	}
	c.cseq++
	cseq := c.cseq
	offer := string(c.localSDP)
	c.mu.Unlock()
	for _, d := range []string{"a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"} {
		offer = strings.ReplaceAll(offer, d+"\r\n", "")
	}
	offer = strings.TrimRight(offer, "\r\n") + "\r\na=" + direction + "\r\n"
	req := c.inDialogRequest(sip.INVITE, cseq)
	ct := sip.ContentTypeHeader("application/sdp")
	req.AppendHeader(&ct)
	req.AppendHeader(c.peer.contact(c.local.User, c.transport))
	req.SetBody([]byte(offer))
	res, err := c.peer.do(ctx, req)
	if err != nil {
		return 0, nil, fmt.Errorf("sipuatest: re-INVITE on call %s: %w", c.callID, err)
	}
	if res.IsSuccess() {
		ack := c.inDialogRequest(sip.ACK, cseq)
		ack.SetBody(nil)
		if err := c.peer.sending(func() error { return c.peer.cli.WriteRequest(ack) }); err != nil {
			return res.StatusCode, res.Body(), fmt.Errorf("sipuatest: ACK of re-INVITE: %w", err)
		}
	}
	return res.StatusCode, res.Body(), nil
}

// SendInfo sends an INFO with body of contentType on an established call
// (e.g. application/dtmf-relay "Signal=5\r\nDuration=160") and returns the
// status code it was answered with.
func (c *Call) SendInfo(ctx context.Context, contentType, body string) (int, error) {
	c.mu.Lock()
	if !c.established || c.ended {
		c.mu.Unlock()
		return 0, fmt.Errorf("sipuatest: INFO on call %s: %w", c.callID, ErrNotEstablished)
	}
	c.cseq++
	cseq := c.cseq
	c.mu.Unlock()
	req := c.inDialogRequest(sip.INFO, cseq)
	ct := sip.ContentTypeHeader(contentType)
	req.AppendHeader(&ct)
	req.SetBody([]byte(body))
	res, err := c.peer.do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("sipuatest: INFO on call %s: %w", c.callID, err)
	}
	return res.StatusCode, nil
}
