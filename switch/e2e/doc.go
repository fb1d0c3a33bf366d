// Package e2e holds Patchbay's end-to-end tests: a whole switch started
// in-process on 127.0.0.1, driven through its REST API by an HTTP client,
// serving RCML from an application server inside the test, and called by
// real SIP peers (sipp, and Go peers on sipgo from switch/sipua/sipuatest).
// The tests assert what the peers and the application server saw.
package e2e
