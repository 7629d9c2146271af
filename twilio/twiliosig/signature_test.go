package twiliosig_test

import (
	"net/url"
	"testing"

	"github.com/eonpro/eonpro/twilio/twiliosig"
)

const (
	docToken = "12345"
	docURL   = "https://mycompany.com/myapp.php?foo=1&bar=2"
)

// docParams are the POST fields of the worked example on Twilio's webhook
// security page. The page has printed two versions: Caller and From were
// +14158675310 (signature GvWf1cFY/Q7PnoempGyD5oXAezc=), later
// +12349013030 (signature 0/KCTR6DLpKmkAf8muzZqo1nDgQ=).
func docParams(caller string) url.Values {
	return url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {caller},
		"Digits":  {"1234"},
		"From":    {caller},
		"To":      {"+18005551212"},
	}
}

func TestSign(t *testing.T) {
	for _, tt := range []struct {
		name   string
		url    string
		params url.Values
		want   string
	}{
		{"DocumentedExample", docURL, docParams("+12349013030"), "0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
		{"DocumentedExampleOlder", docURL, docParams("+14158675310"), "GvWf1cFY/Q7PnoempGyD5oXAezc="},
		// twilio-go's test vector: "Reason" sorts before "ReasonConferenceEnded".
		{"PrefixNamesSorted", docURL, url.Values{
			"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
			"Caller": {"+14158675309"}, "From": {"+14158675309"},
			"ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
		}, "vOEb5UThFn24KEfnOFLQY2AE5FY="},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := twiliosig.Sign(docToken, tt.url, tt.params); got != tt.want {
				t.Errorf("Sign = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidSignature(t *testing.T) {
	const sig = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
	tampered := docParams("+12349013030")
	tampered.Set("Digits", "9999")
	extra := docParams("+12349013030")
	extra.Set("Body", "hello")
	for _, tt := range []struct {
		name   string
		token  string
		url    string
		params url.Values
		sig    string
		want   bool
	}{
		{"OK", docToken, docURL, docParams("+12349013030"), sig, true},
		{"ErrTamperedParam", docToken, docURL, tampered, sig, false},
		{"ErrAddedParam", docToken, docURL, extra, sig, false},
		{"ErrMissingSignature", docToken, docURL, docParams("+12349013030"), "", false},
		{"ErrWrongToken", "54321", docURL, docParams("+12349013030"), sig, false},
		{"ErrEmptyToken", "", docURL, docParams("+12349013030"), twiliosig.Sign("", docURL, docParams("+12349013030")), false},
		{"ErrOtherQuery", docToken, "https://mycompany.com/myapp.php?foo=1&bar=3", docParams("+12349013030"), sig, false},
		{"ErrHTTPForHTTPS", docToken, "http://mycompany.com/myapp.php?foo=1&bar=2", docParams("+12349013030"), sig, false},
		{"ErrTruncated", docToken, docURL, docParams("+12349013030"), sig[:len(sig)-1], false},
		{"PortSignedWithout", docToken, "https://mycompany.com:443/myapp.php?foo=1&bar=2", docParams("+12349013030"), sig, true},
		{"PortSignedWith", docToken, docURL, docParams("+12349013030"),
			twiliosig.Sign(docToken, "https://mycompany.com:443/myapp.php?foo=1&bar=2", docParams("+12349013030")), true},
		{"RepeatedParamAnyOrder", docToken, docURL, url.Values{"A": {"2", "1"}},
			twiliosig.Sign(docToken, docURL, url.Values{"A": {"1", "2"}}), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := twiliosig.ValidSignature(tt.token, tt.url, tt.params, tt.sig); got != tt.want {
				t.Errorf("ValidSignature = %v, want %v", got, tt.want)
			}
		})
	}
}
