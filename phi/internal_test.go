package phi

import (
	"errors"
	"testing"
)

// TestAADBindsClinic checks the binding under one key, which the ring
// never shows (clinics have their own keys): the clinic is in the AAD too.
func TestAADBindsClinic(t *testing.T) {
	aead, err := newAEAD(randomKey())
	if err != nil {
		t.Fatal(err)
	}
	f := Field{Table: "notes", Column: "body", RowID: "r1"}
	version, sealed, err := parse(seal(aead, 1, "clinic-a", f, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := open(aead, version, sealed, "clinic-a", f); got != "x" || err != nil {
		t.Fatalf("open = %q, %v", got, err)
	}
	for name, try := range map[string]func() (string, error){
		"ErrOtherClinic":  func() (string, error) { return open(aead, version, sealed, "clinic-b", f) },
		"ErrOtherVersion": func() (string, error) { return open(aead, 2, sealed, "clinic-a", f) },
		"ErrShifted": func() (string, error) {
			return open(aead, version, sealed, "clinic-an", Field{Table: "otes", Column: "body", RowID: "r1"})
		},
	} {
		if _, err := try(); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: open = %v, want ErrDecrypt", name, err)
		}
	}
}
