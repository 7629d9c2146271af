// Package twiliosig checks and makes the X-Twilio-Signature of Twilio's
// webhook and status-callback requests. It uses only the standard library,
// so the web package can validate callbacks without importing the Twilio
// SDK (adapters of outside services are imported only by jobs/ and cmd/).
package twiliosig

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"net/url"
	"sort"
	"strings"
)

// Header is the request header that carries the signature.
const Header = "X-Twilio-Signature"

// Sign returns Twilio's signature of a request: the base64 HMAC-SHA1, keyed
// with the auth token, of the full URL (with its query string) followed by
// each POST parameter's name and value, sorted by name. A repeated name
// contributes each of its values in sorted order, as Twilio's Node library
// does. For a GET request params is empty: its query is in the URL.
func Sign(authToken, rawURL string, params url.Values) string {
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(rawURL)
	for _, name := range names {
		values := append([]string(nil), params[name]...)
		sort.Strings(values)
		for _, v := range values {
			b.WriteString(name)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ValidSignature reports whether signature is Twilio's signature of a
// request to rawURL with the POST parameters params, compared in constant
// time. rawURL must be the URL Twilio was given (scheme, host, path and
// query as configured), not the one a proxy in front of the server
// rewrote. Twilio signs some URLs with their port and some without, so,
// like Twilio's own libraries, the URL is also tried without its port and
// with its scheme's default port. An empty auth token or signature never
// validates: an unconfigured token must not accept a signature anyone can
// compute.
func ValidSignature(authToken, rawURL string, params url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	for _, u := range urlVariants(rawURL) {
		if hmac.Equal([]byte(Sign(authToken, u, params)), []byte(signature)) {
			return true
		}
	}
	return false
}

// urlVariants returns rawURL as given, without its port, and with its
// scheme's default port.
func urlVariants(rawURL string) []string {
	variants := []string{rawURL}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return variants
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if u.Port() != "" {
		bare := *u
		bare.Host = host
		variants = append(variants, bare.String())
	}
	if port := map[string]string{"http": "80", "https": "443"}[u.Scheme]; port != "" && u.Port() != port {
		withPort := *u
		withPort.Host = net.JoinHostPort(u.Hostname(), port)
		variants = append(variants, withPort.String())
	}
	return variants
}
