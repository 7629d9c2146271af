package twiliofake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/eonpro/eonpro/twilio/twiliofake"
	"github.com/eonpro/eonpro/twilio/twiliosig"
)

// post sends form to the fake's Messages endpoint of the account with the
// credentials, and returns the status and decoded JSON answer.
func post(t *testing.T, f *twiliofake.Fake, account, token string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.URL+"/2010-04-01/Accounts/"+account+"/Messages.json", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(f.AccountSID, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestCreateMessage(t *testing.T) {
	f := twiliofake.New()
	defer f.Close()
	status, body := post(t, f, f.AccountSID, f.AuthToken, url.Values{
		"To": {"+15551230001"}, "From": {"+15005550006"}, "Body": {"Your code is 123456"},
		"StatusCallback": {"https://example.com/cb"},
	})
	if status != http.StatusCreated {
		t.Fatalf("status = %d, want 201: %v", status, body)
	}
	sid, _ := body["sid"].(string)
	if !regexp.MustCompile(`^SM[0-9a-f]{32}$`).MatchString(sid) {
		t.Errorf("sid = %q, want SM and 32 hex digits", sid)
	}
	if _, err := time.Parse(time.RFC1123Z, body["date_created"].(string)); err != nil {
		t.Errorf("date_created is not RFC 2822: %v", err)
	}
	want := map[string]any{
		"account_sid": f.AccountSID, "api_version": "2010-04-01", "body": "Your code is 123456",
		"date_sent": nil, "direction": "outbound-api", "error_code": nil, "error_message": nil,
		"from": "+15005550006", "messaging_service_sid": nil, "num_media": "0", "num_segments": "1",
		"price": nil, "price_unit": "USD", "status": "queued", "to": "+15551230001",
		"uri":              "/2010-04-01/Accounts/" + f.AccountSID + "/Messages/" + sid + ".json",
		"subresource_uris": map[string]any{"media": "/2010-04-01/Accounts/" + f.AccountSID + "/Messages/" + sid + "/Media.json"},
	}
	ignore := cmpopts.IgnoreMapEntries(func(k string, _ any) bool {
		return k == "sid" || k == "date_created" || k == "date_updated"
	})
	if diff := cmp.Diff(want, body, ignore); diff != "" {
		t.Errorf("resource mismatch (-want +got):\n%s", diff)
	}
	wantSent := []twiliofake.SentSMS{{SID: sid, To: "+15551230001", From: "+15005550006", Body: "Your code is 123456",
		StatusCallback: "https://example.com/cb", Status: "queued", NumSegments: 1}}
	if diff := cmp.Diff(wantSent, f.Messages(), cmpopts.IgnoreFields(twiliofake.SentSMS{}, "DateCreated")); diff != "" {
		t.Errorf("Messages mismatch (-want +got):\n%s", diff)
	}
}

func TestCreateMessageFromService(t *testing.T) {
	f := twiliofake.New()
	defer f.Close()
	service := "MG" + strings.Repeat("a", 32)
	status, body := post(t, f, f.AccountSID, f.AuthToken, url.Values{
		"To": {"+15551230001"}, "MessagingServiceSid": {service}, "Body": {"hi"},
	})
	want := map[string]any{"status": "accepted", "from": nil, "messaging_service_sid": service, "num_segments": "0"}
	got := map[string]any{"status": body["status"], "from": body["from"], "messaging_service_sid": body["messaging_service_sid"], "num_segments": body["num_segments"]}
	if diff := cmp.Diff(want, got); status != http.StatusCreated || diff != "" {
		t.Errorf("status %d, mismatch (-want +got):\n%s", status, diff)
	}
}

func TestErrors(t *testing.T) {
	ok := url.Values{"To": {"+15551230001"}, "From": {"+15005550006"}, "Body": {"hi"}}
	with := func(k, v string) url.Values {
		form := url.Values{}
		for name, vs := range ok {
			form[name] = vs
		}
		form.Set(k, v)
		return form
	}
	for _, tt := range []struct {
		name       string
		setup      func(*twiliofake.Fake)
		account    func(*twiliofake.Fake) string
		token      string
		form       url.Values
		wantStatus int
		wantCode   float64
		wantMsg    string
	}{
		{"ErrWrongToken", nil, nil, "wrong", ok, 401, 20003, "Authenticate"},
		{"ErrOtherAccount", nil, func(*twiliofake.Fake) string { return "AC" + strings.Repeat("0", 32) }, "", ok, 404, 20404, ""},
		{"ErrNoTo", nil, nil, "", with("To", ""), 400, 21604, "A 'To' phone number is required."},
		{"ErrNoFrom", nil, nil, "", with("From", ""), 400, 21603, "A 'From' phone number is required."},
		{"ErrNoBody", nil, nil, "", with("Body", ""), 400, 21602, "Message body is required."},
		{"ErrInvalidTo", nil, nil, "", with("To", "555-0100"), 400, 21211, "The 'To' number 555-0100 is not a valid phone number."},
		{"ErrBodyTooLong", nil, nil, "", with("Body", strings.Repeat("a", 1601)), 400, 21617, "The concatenated message body exceeds the 1600 character limit."},
		{"ErrOptedOut", func(f *twiliofake.Fake) { f.OptOut("+15551230001") }, nil, "", ok, 400, 21610, "Attempt to send to unsubscribed recipient"},
		{"ErrThrottled", func(f *twiliofake.Fake) { f.FailNext(429, 20429, "Too Many Requests") }, nil, "", ok, 429, 20429, "Too Many Requests"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := twiliofake.New()
			defer f.Close()
			if tt.setup != nil {
				tt.setup(f)
			}
			account, token := f.AccountSID, f.AuthToken
			if tt.account != nil {
				account = tt.account(f)
			}
			if tt.token != "" {
				token = tt.token
			}
			status, body := post(t, f, account, token, tt.form)
			if status != tt.wantStatus || body["code"] != tt.wantCode || body["status"] != float64(tt.wantStatus) {
				t.Errorf("answer %d %v, want %d with code %v", status, body, tt.wantStatus, tt.wantCode)
			}
			if tt.wantMsg != "" && body["message"] != tt.wantMsg {
				t.Errorf("message = %q, want %q", body["message"], tt.wantMsg)
			}
			if len(f.Messages()) != 0 {
				t.Errorf("the fake recorded %d messages, want none", len(f.Messages()))
			}
		})
	}
}

func TestUnauthorizedWire(t *testing.T) {
	f := twiliofake.New()
	defer f.Close()
	resp, err := http.PostForm(f.URL+"/2010-04-01/Accounts/"+f.AccountSID+"/Messages.json", url.Values{"To": {"+15551230001"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	want := `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`
	if resp.StatusCode != 401 || strings.TrimSpace(string(b)) != want {
		t.Errorf("answer %d %s, want 401 %s", resp.StatusCode, b, want)
	}
}

func TestFailNextOnce(t *testing.T) {
	f := twiliofake.New()
	defer f.Close()
	f.FailNext(503, 20503, "Service Unavailable")
	form := url.Values{"To": {"+15551230001"}, "From": {"+15005550006"}, "Body": {"hi"}}
	first, _ := post(t, f, f.AccountSID, f.AuthToken, form)
	second, _ := post(t, f, f.AccountSID, f.AuthToken, form)
	if first != 503 || second != 201 {
		t.Errorf("statuses %d then %d, want 503 then 201", first, second)
	}
}

// receiver is a status-callback endpoint that keeps what it was sent.
type receiver struct {
	mu     sync.Mutex
	status int
	form   url.Values
	sig    string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.form, rc.sig = r.PostForm, r.Header.Get(twiliosig.Header)
	w.WriteHeader(rc.status)
}

func TestDeliverStatus(t *testing.T) {
	for _, tt := range []struct {
		name    string
		from    url.Values
		status  string
		reply   int
		want    url.Values
		wantErr bool
	}{
		{"Delivered", url.Values{"From": {"+15005550006"}}, "delivered", 204, url.Values{"From": {"+15005550006"}}, false},
		{"UndeliveredHasErrorCode", url.Values{"From": {"+15005550006"}}, "undelivered", 200, url.Values{"From": {"+15005550006"}, "ErrorCode": {"30003"}}, false},
		{"FromService", url.Values{"MessagingServiceSid": {"MG" + strings.Repeat("b", 32)}}, "sent", 200,
			url.Values{"From": {twiliofake.ServiceNumber}, "MessagingServiceSid": {"MG" + strings.Repeat("b", 32)}}, false},
		{"ErrCallbackFails", url.Values{"From": {"+15005550006"}}, "delivered", 500, nil, true},
		{"ErrUnknownStatus", url.Values{"From": {"+15005550006"}}, "lost", 200, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := twiliofake.New()
			defer f.Close()
			rc := &receiver{status: tt.reply}
			app := httptest.NewServer(rc)
			defer app.Close()
			callback := app.URL + "/twilio/status?clinic=c1"
			form := url.Values{"To": {"+15551230001"}, "Body": {"hi"}, "StatusCallback": {callback}}
			for k, v := range tt.from {
				form[k] = v
			}
			_, body := post(t, f, f.AccountSID, f.AuthToken, form)
			sid := body["sid"].(string)
			err := f.DeliverStatus(context.Background(), sid, tt.status)
			if (err != nil) != tt.wantErr {
				t.Fatalf("DeliverStatus = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			want := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {tt.status}, "SmsStatus": {tt.status},
				"AccountSid": {f.AccountSID}, "To": {"+15551230001"}, "ApiVersion": {"2010-04-01"}}
			for k, v := range tt.want {
				want[k] = v
			}
			if diff := cmp.Diff(want, rc.form); diff != "" {
				t.Errorf("callback form mismatch (-want +got):\n%s", diff)
			}
			if !twiliosig.ValidSignature(f.AuthToken, callback, rc.form, rc.sig) {
				t.Error("the callback's signature does not validate")
			}
			if got := f.Messages()[0].Status; got != tt.status {
				t.Errorf("recorded status = %q, want %q", got, tt.status)
			}
		})
	}
}

func TestDeliverStatusUnknown(t *testing.T) {
	f := twiliofake.New()
	defer f.Close()
	if err := f.DeliverStatus(context.Background(), "SM"+strings.Repeat("0", 32), "sent"); err == nil {
		t.Error("DeliverStatus of an unknown message succeeded")
	}
}
