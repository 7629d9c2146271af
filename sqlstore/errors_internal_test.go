package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// The SQLite cases need a real SQLITE_BUSY and are covered by TestRetry.
func TestIsTransient(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		readOnly bool
		want     bool
	}{
		{name: "Nil", err: nil, want: false},
		{name: "SerializationFailure", err: &pgconn.PgError{Code: "40001"}, want: true},
		{name: "DeadlockDetected", err: fmt.Errorf("exec: %w", &pgconn.PgError{Code: "40P01"}), want: true},
		{name: "UniqueViolation", err: &pgconn.PgError{Code: "23505"}, want: false},
		{name: "Canceled", err: fmt.Errorf("begin: %w", context.Canceled), want: false},
		{name: "DeadlineExceeded", err: context.DeadlineExceeded, readOnly: true, want: false},
		{name: "ConnectionLostReadOnly", err: io.ErrUnexpectedEOF, readOnly: true, want: true},
		{name: "ConnectionLostReadWrite", err: io.ErrUnexpectedEOF, want: false},
		{name: "Other", err: errors.New("boom"), readOnly: true, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isTransient(tt.err, tt.readOnly); got != tt.want {
				t.Errorf("isTransient(%v, %v) = %v, want %v", tt.err, tt.readOnly, got, tt.want)
			}
		})
	}
}
