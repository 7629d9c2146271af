package phi_test

import (
	"sync"
	"testing"

	"github.com/eonpro/eonpro/phi"
)

var registerOnce sync.Once // Register is for ever: -count=N must not repeat it

func TestRegister(t *testing.T) {
	col := phi.Column{Table: "phi_register_test", Column: "secret", IDColumn: "id", ClinicColumn: "clinic_id"}
	registerOnce.Do(func() { phi.Register(col) })
	if got := phi.Columns(); len(got) == 0 || got[len(got)-1] != col {
		t.Fatalf("Columns() = %v, want it to end with %v", got, col)
	}
	for name, bad := range map[string]phi.Column{
		"ErrTwice":         col,
		"ErrInjection":     {Table: "t; DROP TABLE x", Column: "c", IDColumn: "id", ClinicColumn: "clinic_id"},
		"ErrEmpty":         {Table: "t", Column: "", IDColumn: "id", ClinicColumn: "clinic_id"},
		"ErrQuotedIdent":   {Table: "t", Column: `"c"`, IDColumn: "id", ClinicColumn: "clinic_id"},
		"ErrUpperCaseName": {Table: "Patients", Column: "c", IDColumn: "id", ClinicColumn: "clinic_id"},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%v) did not panic", bad)
				}
			}()
			phi.Register(bad)
		})
	}
	if f := col.Field("r1"); f != (phi.Field{Table: "phi_register_test", Column: "secret", RowID: "r1"}) {
		t.Errorf("Field = %v", f)
	}
}
