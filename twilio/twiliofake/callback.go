package twiliofake

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/eonpro/eonpro/twilio/twiliosig"
)

// ServiceNumber is the number a Messaging Service of the fake sends from,
// picked when a message it accepted moves on.
const ServiceNumber = "+15005550006"

// errorCodes are the error codes the fake reports with a failed status:
// 30003 (unreachable destination handset) for undelivered, 30008 (unknown
// error) for failed.
var errorCodes = map[string]int{"undelivered": 30003, "failed": 30008}

var statuses = map[string]bool{
	"queued": true, "sending": true, "sent": true, "delivered": true,
	"undelivered": true, "failed": true, "read": true, "canceled": true,
}

// callbackClient waits as long as Twilio does for a status callback.
var callbackClient = &http.Client{Timeout: 15 * time.Second}

// DeliverStatus moves the message to status (queued, sending, sent,
// delivered, undelivered, failed, read, canceled) and posts Twilio's
// status callback to its StatusCallback URL: the form fields Twilio sends
// (MessageSid, MessageStatus, SmsSid, SmsStatus, AccountSid, From, To,
// ApiVersion, MessagingServiceSid for a service's message, ErrorCode when
// undelivered or failed), signed in X-Twilio-Signature with the auth
// token. It fails when the message is unknown or has no callback, or when
// the callback answers other than 2xx (Twilio would log error 11200).
func (f *Fake) DeliverStatus(ctx context.Context, sid, status string) error {
	if !statuses[status] {
		return fmt.Errorf("twiliofake: %q is not a message status", status)
	}
	callback, form, err := f.move(sid, status)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callback, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("twiliofake: status callback: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("I-Twilio-Idempotency-Token", randomHex(16))
	req.Header.Set(twiliosig.Header, twiliosig.Sign(f.AuthToken, callback, form))
	resp, err := callbackClient.Do(req)
	if err != nil {
		return fmt.Errorf("twiliofake: status callback: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("twiliofake: status callback of %s answered %d", sid, resp.StatusCode)
	}
	return nil
}

// move records the new status and returns the callback's URL and form.
func (f *Fake) move(sid, status string) (string, url.Values, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var m *SentSMS
	for i := range f.messages {
		if f.messages[i].SID == sid {
			m = &f.messages[i]
		}
	}
	if m == nil {
		return "", nil, fmt.Errorf("twiliofake: no message %s", sid)
	}
	if m.StatusCallback == "" {
		return "", nil, fmt.Errorf("twiliofake: message %s has no status callback", sid)
	}
	if m.From == "" {
		m.From, m.NumSegments = ServiceNumber, segments(m.Body)
	}
	m.Status, m.ErrorCode = status, errorCodes[status]
	form := url.Values{
		"MessageSid": {m.SID}, "MessageStatus": {status},
		"SmsSid": {m.SID}, "SmsStatus": {status},
		"AccountSid": {f.AccountSID}, "From": {m.From}, "To": {m.To},
		"ApiVersion": {apiVersion},
	}
	if m.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	if m.ErrorCode != 0 {
		form.Set("ErrorCode", fmt.Sprint(m.ErrorCode))
	}
	return m.StatusCallback, form, nil
}
