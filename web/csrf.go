package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
)

// csrfToken is the form token of the request's session: a MAC of the
// session cookie, which a cross-site page can neither read nor compute.
// It pairs with http.CrossOriginProtection for browsers that send neither
// Sec-Fetch-Site nor Origin.
func (s *Server) csrfToken(r *http.Request) string {
	ck, err := r.Cookie(s.sessionCookieName())
	if err != nil || ck.Value == "" {
		return ""
	}
	return csrfTokenFor(ck.Value)
}

// csrfTokenFor is the form token of a session token.
func csrfTokenFor(session string) string {
	mac := hmac.New(sha256.New, []byte("eonpro csrf v1"))
	mac.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// checkCSRF checks the token of an unsafe request: the X-CSRF-Token
// header (htmx requests, upload scripts) or the csrf form field.
// Bearer-authenticated requests carry no cookie and need none. In a
// multipart body (an upload form sent without JavaScript) the field must
// be the first part, where the hidden field that opens the form puts it:
// only that part is read here, under the route's body limit, and the
// request returned hands the rest to the handler (multipartReader).
func (s *Server) checkCSRF(r *http.Request) (*http.Request, bool) {
	want := s.csrfToken(r)
	if want == "" {
		return r, true
	}
	got := r.Header.Get("X-CSRF-Token")
	switch {
	case got != "":
	case strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/"):
		var mr *multipart.Reader
		if mr, got = csrfPart(r); mr != nil {
			r = r.WithContext(context.WithValue(r.Context(), multipartKey{}, mr))
		}
	default:
		got = r.PostFormValue("csrf")
	}
	return r, hmac.Equal([]byte(got), []byte(want))
}

// multipartKey carries the multipart reader of a body whose csrf part
// checkCSRF has read.
type multipartKey struct{}

// csrfPart reads the csrf part that must open a multipart form.
func csrfPart(r *http.Request) (*multipart.Reader, string) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, ""
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "csrf" {
		return mr, ""
	}
	b, err := io.ReadAll(io.LimitReader(part, 128))
	if err != nil {
		return mr, ""
	}
	return mr, string(b)
}

// multipartReader returns the reader of r's multipart body, past the csrf
// part when checkCSRF read one.
func multipartReader(r *http.Request) (*multipart.Reader, error) {
	if mr, ok := r.Context().Value(multipartKey{}).(*multipart.Reader); ok {
		return mr, nil
	}
	return r.MultipartReader()
}
