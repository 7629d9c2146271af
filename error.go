package eonpro

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each maps to one HTTP status in the web package.
const (
	EBADREQUEST  = "bad_request"       // malformed request body (400)
	EINVALID     = "invalid"           // validation failed (422)
	EUNAUTHN     = "unauthenticated"   // no or bad credentials (401)
	EFORBIDDEN   = "forbidden"         // authenticated but not allowed (403)
	ENOTFOUND    = "not_found"         // missing, or another clinic's (404)
	ECONFLICT    = "conflict"          // state or uniqueness conflict (409)
	ETOOLARGE    = "payload_too_large" // body over the limit (413)
	ERATELIMITED = "rate_limited"      // too many requests (429)
	EUNAVAILABLE = "unavailable"       // a dependency is down (503)
	EINTERNAL    = "internal"          // anything uncoded (500)
)

// Error is an error with a code and a message that is safe to show a user.
// Fields names the offending input fields, keyed by their JSON names.
// Messages never contain PHI.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
	// RetryAfter tells a rate-limited client when to try again.
	RetryAfter time.Duration
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("eonpro error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns a coded error with a formatted, user-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error naming one field.
func FieldError(field, message string) *Error {
	return &Error{Code: EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{field: message}}
}

// ErrorCode returns the code of the first coded error in err's chain, or
// EINTERNAL when there is none. A nil error has no code.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err, or a generic one for
// uncoded errors, whose text may hold internals.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred."
}

// ErrorFields returns the field errors carried by err, if any.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
