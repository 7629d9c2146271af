package password_test

import (
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/password"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		plain string
		want  string // field message; empty when valid
	}{
		{"OK", "violet staple orbit", ""},
		{"OKMinLength", "k7#vQ9!mZp2w", ""},
		{"OKMaxLength", strings.Repeat("z", 128), ""},
		{"OKMultiByteAtMin", "ñandú-çafé-é", ""},           // 12 runes, 17 bytes
		{"OKMultiByteAtMax", strings.Repeat("密", 128), ""}, // 128 runes, 384 bytes
		{"ErrEmpty", "", "Use at least 12 characters."},
		{"ErrTooShort", "k7#vQ9!mZp2", "Use at least 12 characters."},
		{"ErrMultiByteTooShort", "ñandúçafé密€", "Use at least 12 characters."}, // 11 runes, 19 bytes
		{"ErrTooLong", strings.Repeat("z", 129), "Use at most 128 characters."},
		{"ErrMultiByteTooLong", strings.Repeat("密", 129), "Use at most 128 characters."},
		{"ErrInvalidUTF8", "abcdefghijk\xff", "Password contains characters that are not valid text."},
		{"ErrCommon", "password1234", "This password is too common. Choose one that is harder to guess."},
		{"ErrCommonKeyboard", "qwertyuiop123", "This password is too common. Choose one that is harder to guess."},
		{"ErrCommonCase", "PassWord1234", "This password is too common. Choose one that is harder to guess."},
		{"ErrCommonDigits", "123456789012", "This password is too common. Choose one that is harder to guess."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := password.Validate(tt.plain)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if code := eonpro.ErrorCode(err); code != eonpro.EINVALID {
				t.Fatalf("code = %q, want %q", code, eonpro.EINVALID)
			}
			if got := eonpro.ErrorFields(err)["password"]; got != tt.want {
				t.Fatalf("password field = %q, want %q", got, tt.want)
			}
		})
	}
}
