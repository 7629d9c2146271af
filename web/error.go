package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/eonpro/eonpro"
)

// statuses maps each error code to its HTTP status.
var statuses = map[string]int{
	eonpro.EBADREQUEST:  http.StatusBadRequest,
	eonpro.EINVALID:     http.StatusUnprocessableEntity,
	eonpro.EUNAUTHN:     http.StatusUnauthorized,
	eonpro.EFORBIDDEN:   http.StatusForbidden,
	eonpro.ENOTFOUND:    http.StatusNotFound,
	eonpro.ECONFLICT:    http.StatusConflict,
	eonpro.ETOOLARGE:    http.StatusRequestEntityTooLarge,
	eonpro.ERATELIMITED: http.StatusTooManyRequests,
	eonpro.EUNAVAILABLE: http.StatusServiceUnavailable,
	eonpro.EINTERNAL:    http.StatusInternalServerError,
}

// ErrorStatus returns the HTTP status for an error code.
func ErrorStatus(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields,omitempty"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// statusClientClosed is what the access log and metrics give a request
// whose client went away before its answer (nginx's 499). It is not a
// failure of the server.
const statusClientClosed = 499

// clientGone reports whether r's client went away: its context was
// cancelled (a deadline would be DeadlineExceeded, and the server's).
func clientGone(r *http.Request) bool {
	return errors.Is(r.Context().Err(), context.Canceled)
}

// failureLevel is the log level of a failure while serving r: ERROR, or
// INFO when the client went away (the likely cause).
func failureLevel(r *http.Request) slog.Level {
	if clientGone(r) {
		return slog.LevelInfo
	}
	return slog.LevelError
}

// answeredGone answers a request whose client went away: nobody reads
// the answer, and the failure (most likely the cancellation itself) is no
// server error, so it is logged at INFO and the status is 499.
func (s *Server) answeredGone(w http.ResponseWriter, r *http.Request, err error) bool {
	if !clientGone(r) {
		return false
	}
	s.log.InfoContext(r.Context(), "client gone", "request_id", eonpro.RequestIDFromContext(r.Context()),
		"code", eonpro.ErrorCode(err), "err", err)
	w.WriteHeader(statusClientClosed)
	return true
}

// Error writes err as the JSON error envelope. Uncoded errors are logged
// with the request id and shown only as "internal". A client that went
// away gets nothing (answeredGone).
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	if s.answeredGone(w, r, err) {
		return
	}
	code := eonpro.ErrorCode(err)
	if code == eonpro.EINTERNAL {
		s.log.ErrorContext(r.Context(), "internal error",
			"request_id", eonpro.RequestIDFromContext(r.Context()), "err", err)
	}
	var coded *eonpro.Error
	if errors.As(err, &coded) && coded.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(seconds(coded.RetryAfter)))
	}
	body := errorEnvelope(r, code, eonpro.ErrorMessage(err))
	body.Error.Fields = eonpro.ErrorFields(err)
	writeJSON(w, ErrorStatus(code), body)
}

func errorEnvelope(r *http.Request, code, message string) errorBody {
	var body errorBody
	body.Error.Code = code
	body.Error.Message = message
	body.RequestID = eonpro.RequestIDFromContext(r.Context())
	return body
}

// writeJSON writes v with the status. Encoding errors cannot be reported to
// the client once the header is out, so they are dropped.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeJSON reads one JSON object from the body into v. Unknown fields,
// trailing data and malformed JSON are EBADREQUEST naming what was wrong
// (never echoing values); a body over the limit is ETOOLARGE.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && hasNUL(reflect.ValueOf(v)) {
		// PostgreSQL text cannot hold NUL and no field needs it: refuse it
		// here so both engines answer the same.
		return eonpro.Errorf(eonpro.EBADREQUEST, "The request body contains a NUL character.")
	}
	if err == nil {
		_, extra := dec.Token()
		var tooLarge *http.MaxBytesError
		if errors.As(extra, &tooLarge) {
			return eonpro.Errorf(eonpro.ETOOLARGE, "The request body is too large.")
		} else if extra != io.EOF {
			return eonpro.Errorf(eonpro.EBADREQUEST, "The request body must hold a single JSON object.")
		}
		return nil
	}
	var tooLarge *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return eonpro.Errorf(eonpro.ETOOLARGE, "The request body is too large.")
	case errors.Is(err, io.EOF):
		return eonpro.Errorf(eonpro.EBADREQUEST, "The request body is empty.")
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return &eonpro.Error{Code: eonpro.EBADREQUEST, Message: "A field has the wrong type.",
			Fields: map[string]string{typeErr.Field: "must be " + jsonKind(typeErr.Type)}}
	}
	// encoding/json has no typed error for unknown fields; its message is
	// stable and the field name is the client's own input key.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if n, uerr := strconv.Unquote(name); uerr == nil {
			name = n
		}
		return &eonpro.Error{Code: eonpro.EINVALID, Message: "The request body has an unknown field.",
			Fields: map[string]string{name: "is not a known field"}}
	}
	return eonpro.Errorf(eonpro.EBADREQUEST, "The request body is not valid JSON.")
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// hasNUL reports whether any string reachable from v contains a NUL byte.
func hasNUL(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return strings.ContainsRune(v.String(), 0)
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && hasNUL(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if hasNUL(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if hasNUL(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if hasNUL(it.Key()) || hasNUL(it.Value()) {
				return true
			}
		}
	}
	return false
}
