// Command lcm-flows is a small RCML application server for the three Live
// Call Modification flows of the README in this directory: transferring a
// call from Bob to Alice, turning a call into a conference, and hold/unhold.
//
//	go run ./examples/lcm-flows -listen 127.0.0.1:9000 \
//	    -bob sip:bob@127.0.0.1:5070 -alice sip:alice@127.0.0.1:5080
package main

import (
	"flag"
	"log"
	"net/http"
	"text/template"
	"time"

	"github.com/patchbay/patchbay/switch/media"
)

// documents are the RCML the flows use; {{.Base}} is this server's URL.
const documents = `
{{define "dial-bob.xml"}}<Response><Dial action="{{.Base}}/after-dial.xml" timeout="30"><Sip>{{.Bob}}</Sip></Dial></Response>{{end}}
{{define "dial-alice.xml"}}<Response><Dial timeout="30"><Sip>{{.Alice}}</Sip></Dial></Response>{{end}}
{{define "after-dial.xml"}}<Response><Hangup/></Response>{{end}}
{{define "conference.xml"}}<Response><Dial><Conference beep="true">sales</Conference></Dial></Response>{{end}}
{{define "hold.xml"}}<Response><Dial><Conference startConferenceOnEnter="false" beep="false" waitUrl="{{.Base}}/music.wav">hold-{{.CallSid}}</Conference></Dial></Response>{{end}}
{{define "unhold.xml"}}<Response><Dial><Conference startConferenceOnEnter="true" beep="false">hold-{{.CallSid}}</Conference></Dial></Response>{{end}}
`

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to serve RCML on")
	bob := flag.String("bob", "sip:bob@127.0.0.1:5070", "Bob's SIP URI")
	alice := flag.String("alice", "sip:alice@127.0.0.1:5080", "Alice's SIP URI")
	flag.Parse()
	tmpl := template.Must(template.New("rcml").Parse(documents))
	music := media.ToneWAV(30*time.Second, 330, 4000)
	mux := http.NewServeMux()
	mux.HandleFunc("/music.wav", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/wav")
		w.Write(music)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		name := r.URL.Path[1:]
		if tmpl.Lookup(name) == nil {
			http.NotFound(w, r)
			return
		}
		log.Printf("%s %s CallSid=%s CallStatus=%s Direction=%s", r.Method, r.URL.Path, r.Form.Get("CallSid"), r.Form.Get("CallStatus"), r.Form.Get("Direction"))
		// Hold rooms are named after the call that asked for them, so both
		// legs moved by MoveConnectedCallLeg meet there: the connected leg
		// reports its parent in ParentCallSid.
		callSid := r.Form.Get("CallSid")
		if p := r.Form.Get("ParentCallSid"); p != "" {
			callSid = p
		}
		w.Header().Set("Content-Type", "text/xml")
		data := map[string]string{"Base": "http://" + *listen, "Bob": *bob, "Alice": *alice, "CallSid": callSid}
		if err := tmpl.ExecuteTemplate(w, name, data); err != nil {
			log.Printf("rendering %s: %v", name, err)
		}
	})
	log.Printf("serving RCML on http://%s", *listen)
	log.Fatal(http.ListenAndServe(*listen, mux))
}
