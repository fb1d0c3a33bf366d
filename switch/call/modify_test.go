package call

import (
	"errors"
	"testing"

	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/store"
)

// Plugins decided on a call bridged to Bob; by the time the request
// reaches the call, the bridge has ended. The call refuses the request and
// is left as it was: neither hung up nor redirected.
func TestModifyDecidedOnALegThatIsGoneIsRefused(t *testing.T) {
	for _, r := range []calls.ModifyRequest{
		{Status: store.StatusCompleted},
		{URL: "http://127.0.0.1/next.xml", Method: "POST"},
	} {
		r.PolicyDecided, r.PolicyConnectedCallSid = true, "CA00000000000000000000000000000b0b"
		c := &Call{answered: true, rec: store.Call{Status: store.StatusInProgress, URL: "http://127.0.0.1/start.xml"}}
		if _, err := c.modify(r); !errors.Is(err, calls.ErrCallChanged) {
			t.Fatalf("%+v: err %v, want ErrCallChanged", r, err)
		}
		if c.finished || c.rec.Status != store.StatusInProgress || c.rec.URL != "http://127.0.0.1/start.xml" {
			t.Fatalf("%+v: the call changed: finished %v, %s, %s", r, c.finished, c.rec.Status, c.rec.URL)
		}
	}
}
