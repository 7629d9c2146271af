package phi

import (
	"fmt"
	"regexp"
	"slices"
	"sync"
)

// Column declares a column that holds PHI ciphertext, so that key
// rotation, key status and the canary test find it: Table.Column holds
// values encrypted for Field{Table, Column, <IDColumn>} of the clinic in
// ClinicColumn. A store declares each of its PHI columns with Register.
type Column struct {
	Table        string
	Column       string
	IDColumn     string
	ClinicColumn string
}

// Field returns the field of the column in row rowID.
func (c Column) Field(rowID string) Field {
	return Field{Table: c.Table, Column: c.Column, RowID: rowID}
}

// String names the column as table.column.
func (c Column) String() string { return c.Table + "." + c.Column }

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Validate checks that every name is a plain SQL identifier: they are
// written into statements, never passed as parameters.
func (c Column) Validate() error {
	for _, n := range []string{c.Table, c.Column, c.IDColumn, c.ClinicColumn} {
		if !identRe.MatchString(n) {
			return fmt.Errorf("phi: column %s: %q is not a lower-case SQL identifier", c, n)
		}
	}
	return nil
}

var (
	registryMu sync.Mutex
	registry   []Column
)

// Register declares PHI columns. It panics on an invalid or repeated
// column: declarations are fixed at start-up, by the code.
func Register(cols ...Column) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, c := range cols {
		if err := c.Validate(); err != nil {
			panic(err)
		}
		if slices.ContainsFunc(registry, func(r Column) bool { return r.Table == c.Table && r.Column == c.Column }) {
			panic(fmt.Sprintf("phi: column %s registered twice", c))
		}
		registry = append(registry, c)
	}
}

// Columns returns the registered PHI columns, in the order registered.
func Columns() []Column {
	registryMu.Lock()
	defer registryMu.Unlock()
	return slices.Clone(registry)
}
