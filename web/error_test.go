package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
)

func TestErrorStatus(t *testing.T) {
	tests := []struct {
		code   string
		status int
	}{
		{eonpro.EBADREQUEST, http.StatusBadRequest},
		{eonpro.EINVALID, http.StatusUnprocessableEntity},
		{eonpro.EUNAUTHN, http.StatusUnauthorized},
		{eonpro.EFORBIDDEN, http.StatusForbidden},
		{eonpro.ENOTFOUND, http.StatusNotFound},
		{eonpro.ECONFLICT, http.StatusConflict},
		{eonpro.ETOOLARGE, http.StatusRequestEntityTooLarge},
		{eonpro.ERATELIMITED, http.StatusTooManyRequests},
		{eonpro.EUNAVAILABLE, http.StatusServiceUnavailable},
		{eonpro.EINTERNAL, http.StatusInternalServerError},
		{"no_such_code", http.StatusInternalServerError},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			if got := ErrorStatus(tc.code); got != tc.status {
				t.Errorf("ErrorStatus(%q) = %d, want %d", tc.code, got, tc.status)
			}
		})
	}
}

func TestError(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		want   errorBody
		logged bool
	}{
		{"Uncoded", fmt.Errorf("find patient: %w", errors.New("pq: password authentication failed for user eonpro")),
			http.StatusInternalServerError, envelope("internal", "An internal error occurred.", nil), true},
		{"Coded", eonpro.Errorf(eonpro.ENOTFOUND, "Patient not found."),
			http.StatusNotFound, envelope("not_found", "Patient not found.", nil), false},
		{"WrappedCoded", fmt.Errorf("book appointment: %w", eonpro.Errorf(eonpro.ECONFLICT, "The slot is taken.")),
			http.StatusConflict, envelope("conflict", "The slot is taken.", nil), false},
		{"Fields", eonpro.FieldError("dob", "is in the future"),
			http.StatusUnprocessableEntity, envelope("invalid", "Some fields are invalid.", map[string]string{"dob": "is in the future"}), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, logs := newTestServer(t, Config{})
			s.handle("GET /api/test/error", func(http.ResponseWriter, *http.Request) error { return tc.err })
			w := serve(s, http.MethodGet, "/api/test/error", "", http.Header{"X-Request-Id": {"error-req-1"}})
			if w.Code != tc.status {
				t.Errorf("status = %d, want %d", w.Code, tc.status)
			}
			want := tc.want
			want.RequestID = "error-req-1"
			if d := diff(want, decodeError(t, w)); d != "" {
				t.Errorf("body mismatch (-want +got):\n%s", d)
			}
			if strings.Contains(w.Body.String(), "password") {
				t.Errorf("body leaks the internal error: %s", w.Body)
			}
			recs := logs.records(t, "internal error")
			if !tc.logged {
				if len(recs) != 0 {
					t.Errorf("logged %d internal errors for a coded error, want 0", len(recs))
				}
				return
			}
			if len(recs) != 1 {
				t.Fatalf("logged %d internal errors, want 1:\n%s", len(recs), logs)
			}
			if recs[0]["request_id"] != "error-req-1" || recs[0]["err"] != tc.err.Error() {
				t.Errorf("internal error record = %v, want request_id error-req-1 and err %q", recs[0], tc.err)
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	notJSON := envelope("bad_request", "The request body is not valid JSON.", nil)
	wrongType := func(field, want string) errorBody {
		return envelope("bad_request", "A field has the wrong type.", map[string]string{field: want})
	}
	tests := []struct {
		name, body string
		status     int
		want       errorBody
	}{
		{"OK", `{"name":"Ada","age":36,"tags":["a"],"address":{"zip":"02139"}}`, http.StatusOK, errorBody{}},
		{"Malformed", `{"name":`, http.StatusBadRequest, notJSON},
		{"UnquotedKey", `{name:"Ada"}`, http.StatusBadRequest, notJSON},
		{"NotAnObject", `[1,2]`, http.StatusBadRequest, notJSON},
		{"UnknownField", `{"name":"Ada","nmae":"SecretValue"}`, http.StatusUnprocessableEntity,
			envelope("invalid", "The request body has an unknown field.", map[string]string{"nmae": "is not a known field"})},
		{"WrongTypeNumber", `{"age":"SecretValue"}`, http.StatusBadRequest, wrongType("age", "must be a number")},
		{"WrongTypeString", `{"name":12345}`, http.StatusBadRequest, wrongType("name", "must be a string")},
		{"WrongTypeArray", `{"tags":"SecretValue"}`, http.StatusBadRequest, wrongType("tags", "must be an array")},
		{"WrongTypeObject", `{"address":"SecretValue"}`, http.StatusBadRequest, wrongType("address", "must be an object")},
		{"WrongTypeNested", `{"address":{"zip":12345}}`, http.StatusBadRequest, wrongType("address.zip", "must be a string")},
		{"Empty", ``, http.StatusBadRequest, envelope("bad_request", "The request body is empty.", nil)},
		{"Whitespace", " \n\t ", http.StatusBadRequest, envelope("bad_request", "The request body is empty.", nil)},
		{"TrailingObject", `{"name":"Ada"}{"name":"Bob"}`, http.StatusBadRequest,
			envelope("bad_request", "The request body must hold a single JSON object.", nil)},
		{"TrailingGarbage", `{"name":"Ada"} SecretValue`, http.StatusBadRequest,
			envelope("bad_request", "The request body must hold a single JSON object.", nil)},
		{"TrailingWhitespace", "{\"name\":\"Ada\"}\n\n", http.StatusOK, errorBody{}},
	}
	s, _ := newTestServer(t, Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(s, http.MethodPost, "/api/test/decode", tc.body, nil)
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status == http.StatusOK {
				var got testBody
				if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Name != "Ada" {
					t.Errorf("handler decoded %+v (err %v), want name Ada", got, err)
				}
				return
			}
			if strings.Contains(w.Body.String(), "SecretValue") || strings.Contains(w.Body.String(), "12345") {
				t.Errorf("body echoes the client's values: %s", w.Body)
			}
			got := decodeError(t, w)
			got.RequestID = ""
			if d := diff(tc.want, got); d != "" {
				t.Errorf("body mismatch (-want +got):\n%s", d)
			}
		})
	}
}

// TestAPIDocUnknownFields keeps docs/api.md in step with decodeJSON: an
// unknown field is 422 naming it, so no paragraph about unknown fields may
// promise a 400.
func TestAPIDocUnknownFields(t *testing.T) {
	b, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, para := range strings.Split(string(b), "\n\n") {
		if strings.Contains(para, "unknown") && strings.Contains(para, "`400`") {
			t.Errorf("docs/api.md says an unknown field is 400; the server answers 422:\n%s", para)
		}
	}
}
