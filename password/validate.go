package password

import (
	"fmt"
	"unicode/utf8"

	"github.com/eonpro/eonpro"
)

// Length bounds of a new password, in characters (runes), following NIST SP
// 800-63B: length does more for strength than composition rules, and the
// upper bound only keeps hashing input small.
const (
	MinLength = 12
	MaxLength = 128
)

// Validate checks a new password against the policy: MinLength to MaxLength
// characters and not on the common-passwords list, ignoring case. It returns
// an EINVALID field error keyed "password"; callers that name the field
// otherwise (new_password) move the message to their key.
func Validate(plain string) error {
	if !utf8.ValidString(plain) {
		return eonpro.FieldError("password", "Password contains characters that are not valid text.")
	}
	n := utf8.RuneCountInString(plain)
	switch {
	case n < MinLength:
		return eonpro.FieldError("password", fmt.Sprintf("Use at least %d characters.", MinLength))
	case n > MaxLength:
		return eonpro.FieldError("password", fmt.Sprintf("Use at most %d characters.", MaxLength))
	case isCommon(plain):
		return eonpro.FieldError("password", "This password is too common. Choose one that is harder to guess.")
	}
	return nil
}
