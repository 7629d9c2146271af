package twilio

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/twilio/twilio-go/client"

	"github.com/eonpro/eonpro"
)

// refusal is how EONPRO reads one Twilio error code: a description of its
// own (Twilio's message may quote the recipient's number, as 21211's
// "The 'To' number … is not a valid phone number." does, so it is never
// passed on) and whether sending again can succeed.
type refusal struct {
	text      string
	permanent bool
}

// refusals are the codes a text message meets. The credential errors
// (20003, and 21222 and 21224, which twilio-go raises itself for
// characters Twilio never allows) are temporary on purpose: the message is
// sound, and it goes out once an operator fixes the account SID or auth
// token (a token rotated in the console before the configuration, a
// suspended account paid up). Giving up would drop every text sent in
// the meantime, one-time codes included; the job's attempts bound the
// wait, and its error log shows the code.
var refusals = map[int]refusal{
	20003: {"authentication failed: check the account SID and auth token", false},
	21222: {"the account SID has characters Twilio does not allow", false},
	21224: {"the auth token has characters Twilio does not allow", false},
	20429: {"too many requests", false},
	21211: {"the recipient number is not a valid phone number", true},
	21214: {"the recipient number cannot be reached", true},
	21408: {"sending to the recipient's region is not enabled for the account", true},
	21610: {"the recipient has unsubscribed (replied STOP)", true},
	21612: {"the sender cannot send to the recipient number", true},
	21614: {"the recipient number is not a mobile number", true},
	21606: {"the sender number cannot send text messages", true},
	21659: {"the sender is not a number of the account", true},
	21617: {"the message body is longer than 1600 characters", true},
}

// deliveryError turns a twilio-go error into a *eonpro.DeliveryError when
// Twilio refused the message. Known codes decide by the table; otherwise
// 429 and 5xx are temporary and other 4xx permanent. Any other error
// (Twilio unreachable, a timeout, a proxy's non-JSON error page) is
// returned wrapped: it holds no recipient or body, and a job retries it.
func deliveryError(err error) error {
	var te *client.TwilioRestError
	if !errors.As(err, &te) {
		return fmt.Errorf("twilio: send message: %w", err)
	}
	r, ok := refusals[te.Code]
	if !ok {
		r = refusal{
			text:      fmt.Sprintf("HTTP %d, see https://www.twilio.com/docs/errors/%d", te.Status, te.Code),
			permanent: te.Status >= 400 && te.Status < 500 && te.Status != http.StatusTooManyRequests,
		}
	}
	return &eonpro.DeliveryError{Provider: Provider, Code: strconv.Itoa(te.Code), Message: r.text, Permanent: r.permanent}
}
