package phi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/eonpro/eonpro"
)

// Kind is what a blind-indexed value is; it picks the normaliser, and
// indexes of different kinds never collide.
type Kind string

// The kinds of blind-indexed values.
const (
	KindEmail       Kind = "email"
	KindPhone       Kind = "phone"
	KindDateOfBirth Kind = "dob"
	KindLastName    Kind = "last_name"
	// KindNamePrefix is a leading part of one word of a name, for search
	// as the user types (see docs/security.md for what it leaks).
	KindNamePrefix Kind = "name_prefix"
	// KindTag is a label a clinic puts on a record.
	KindTag Kind = "tag"
)

// indexBytes is the length an index is truncated to: 128 bits keep
// accidental collisions out of reach while not pinning the full HMAC.
const indexBytes = 16

// BlindIndex returns the clinic's blind index of a value: the hex HMAC-
// SHA256, under the clinic's index key, of the kind and the normalised
// value, truncated to 16 bytes. Equal values after normalisation have
// equal indexes within a clinic, and unrelated ones across clinics. A
// value that normalises to nothing has the empty index. Returns EINVALID
// for a date of birth that is not a date; EUNAVAILABLE (and
// ErrKeysDestroyed) when the clinic's keys were destroyed.
func (r *KeyRing) BlindIndex(ctx context.Context, clinicID string, kind Kind, value string) (string, error) {
	norm, err := Normalize(kind, value)
	if err != nil || norm == "" {
		return "", err
	}
	k, err := r.keys(ctx, clinicID, true, false)
	if err != nil {
		return "", fmt.Errorf("blind index: %w", err)
	}
	mac := hmac.New(sha256.New, k.index)
	mac.Write(lengthPrefixed(string(kind), norm))
	return hex.EncodeToString(mac.Sum(nil)[:indexBytes]), nil
}

// Normalize puts a value of a kind into the one form its index is made
// of: e-mail trimmed and lower-cased; phone digits only (store E.164, as
// "1 512…" and "512…" differ); date of birth as YYYY-MM-DD (from
// YYYY-MM-DD, YYYY-M-D or the US M/D/YYYY); last name and name prefix
// case-folded, accents removed, only letters and digits kept ("O'Brien" =
// "obrien"); tag trimmed and case-folded.
func Normalize(kind Kind, value string) (string, error) {
	value = strings.TrimSpace(value)
	switch kind {
	case KindEmail:
		return strings.ToLower(value), nil
	case KindPhone:
		return strings.Map(keepDigits, value), nil
	case KindDateOfBirth:
		return normalizeDate(value)
	case KindLastName, KindNamePrefix:
		return foldName(value), nil
	case KindTag:
		return cases.Fold().String(value), nil
	}
	return "", fmt.Errorf("phi: unknown blind-index kind %q", kind)
}

func keepDigits(r rune) rune {
	if r >= '0' && r <= '9' {
		return r
	}
	return -1
}

func normalizeDate(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	for _, layout := range []string{"2006-01-02", "2006-1-2", "1/2/2006"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Format("2006-01-02"), nil
		}
	}
	return "", eonpro.FieldError("date_of_birth", "is not a date like 1980-04-23")
}

// foldName decomposes (NFD), drops the combining marks, folds case and
// keeps letters and digits: "Muñoz" and "MUNOZ" become "munoz".
func foldName(v string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC, cases.Fold())
	folded, _, err := transform.String(t, v)
	if err != nil {
		folded = v
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, folded)
}
