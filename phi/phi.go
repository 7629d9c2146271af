// Package phi protects protected health information at rest: field
// encryption under per-clinic data keys (AES-256-GCM, bound to the value's
// clinic, table, column and row), envelope wrapping of those keys by a
// master key (local or AWS KMS), blind indexes for exact search, and
// crypto-shredding. It knows no database: a KeyStore keeps the wrapped keys.
package phi

import (
	"errors"
	"fmt"

	"github.com/eonpro/eonpro"
)

// ErrKeysDestroyed is in the chain of every error about a clinic whose keys
// were destroyed: its PHI is unreadable for good, and nothing new may be
// encrypted for it.
var ErrKeysDestroyed = errors.New("phi: clinic keys destroyed")

// ErrDecrypt means a ciphertext is malformed, was tampered with, or belongs
// to another clinic, table, column or row.
var ErrDecrypt = errors.New("phi: ciphertext does not decrypt")

// destroyed returns the coded error for a crypto-shredded clinic.
func destroyed() error {
	return fmt.Errorf("%w: %w", eonpro.Errorf(eonpro.EUNAVAILABLE, "This clinic's protected records have been permanently erased."), ErrKeysDestroyed)
}

// Field is where a value lives. Its ciphertext is bound to it: copied to
// another table, column or row, the value no longer decrypts.
type Field struct {
	Table  string
	Column string
	RowID  string
}

func (f Field) validate() error {
	if f.Table == "" || f.Column == "" || f.RowID == "" {
		return errors.New("phi: field needs a table, a column and a row id")
	}
	return nil
}
