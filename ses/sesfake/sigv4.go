package sesfake

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// authorization is the parsed Authorization header of a SigV4 request.
type authorization struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=AKID/20260101/
// us-east-1/ses/aws4_request, SignedHeaders=host;x-amz-date, Signature=…".
func parseAuthorization(h string) (authorization, bool) {
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return authorization{}, false
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[name] = value
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return authorization{}, false
	}
	return authorization{
		accessKey:     scope[0],
		date:          scope[1],
		region:        scope[2],
		service:       scope[3],
		signedHeaders: strings.Split(fields["SignedHeaders"], ";"),
		signature:     fields["Signature"],
	}, true
}

// checkSignature verifies r, whose body is body, as SES does: the key is
// the fake's, the scope names the fake's region and the ses service on the
// request's date, and the signature is the one the fake's secret gives.
// It computes the signature by hand from the SigV4 specification rather
// than with the SDK's signer, so the fake checks the SDK instead of
// agreeing with it by construction.
func checkSignature(r *http.Request, body []byte) *apiError {
	a, ok := parseAuthorization(r.Header.Get("Authorization"))
	if !ok {
		return &apiError{Code: "MissingAuthenticationTokenException", Message: "Missing Authentication Token", Status: http.StatusForbidden}
	}
	if a.accessKey != AccessKey {
		return &apiError{Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid.", Status: http.StatusForbidden}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if len(amzDate) != len("20060102T150405Z") || amzDate[:8] != a.date || a.region != Region || a.service != "ses" {
		return signatureMismatch("Credential should be scoped to a valid date, region " + Region + " and service ses.")
	}
	scope := strings.Join([]string{a.date, a.region, a.service, "aws4_request"}, "/")
	stringToSign := strings.Join([]string{"AWS4-HMAC-SHA256", amzDate, scope, hexSHA256([]byte(canonicalRequest(r, a.signedHeaders, body)))}, "\n")
	key := []byte("AWS4" + SecretKey)
	for _, part := range []string{a.date, a.region, a.service, "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(a.signature)) {
		return signatureMismatch("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

func signatureMismatch(msg string) *apiError {
	return &apiError{Code: "SignatureDoesNotMatch", Message: msg, Status: http.StatusForbidden}
}

// canonicalRequest is the SigV4 canonical form of r for the headers the
// client signed. Paths are escaped once more, as for every service but S3.
func canonicalRequest(r *http.Request, signed []string, body []byte) string {
	var headers strings.Builder
	for _, name := range signed {
		fmt.Fprintf(&headers, "%s:%s\n", name, headerValue(r, name))
	}
	return strings.Join([]string{
		r.Method,
		escape(r.URL.EscapedPath(), false),
		canonicalQuery(r.URL.Query()),
		headers.String(),
		strings.Join(signed, ";"),
		hexSHA256(body),
	}, "\n")
}

// headerValue is the canonical value of one signed header: its values
// trimmed, inner runs of spaces collapsed, joined by commas. The server
// keeps the host out of the header map.
func headerValue(r *http.Request, name string) string {
	switch {
	case name == "host":
		return r.Host
	case name == "content-length" && r.Header.Get("Content-Length") == "":
		return strconv.FormatInt(r.ContentLength, 10)
	}
	values := r.Header.Values(name)
	for i, v := range values {
		values[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(values, ",")
}

func canonicalQuery(q url.Values) string {
	var pairs [][2]string
	for name, values := range q {
		for _, v := range values {
			pairs = append(pairs, [2]string{escape(name, true), escape(v, true)})
		}
	}
	slices.SortFunc(pairs, func(a, b [2]string) int {
		return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1]))
	})
	joined := make([]string, len(pairs))
	for i, p := range pairs {
		joined[i] = p[0] + "=" + p[1]
	}
	return strings.Join(joined, "&")
}

// escape percent-encodes every byte but the unreserved ones (and '/' in
// paths), as SigV4 requires.
func escape(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		unreserved := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0
		if unreserved || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
