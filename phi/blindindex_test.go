package phi_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
)

func TestNormalize(t *testing.T) {
	for _, tt := range []struct {
		kind     phi.Kind
		in, want string
	}{
		{phi.KindEmail, "  Ada@Example.TEST ", "ada@example.test"},
		{phi.KindPhone, "+1 (512) 555-0100", "15125550100"},
		{phi.KindPhone, "15125550100", "15125550100"},
		{phi.KindPhone, "call me", ""},
		{phi.KindDateOfBirth, "1980-04-23", "1980-04-23"},
		{phi.KindDateOfBirth, " 1980-4-3 ", "1980-04-03"},
		{phi.KindDateOfBirth, "4/23/1980", "1980-04-23"},
		{phi.KindDateOfBirth, "", ""},
		{phi.KindLastName, "Muñoz", "munoz"},
		{phi.KindLastName, "MUNOZ", "munoz"},
		{phi.KindLastName, "Mun\u0303oz", "munoz"}, // n + combining tilde
		{phi.KindLastName, "  O'Brien ", "obrien"},
		{phi.KindLastName, "Groß", "gross"},
		{phi.KindLastName, "Çelik-Şahin", "celiksahin"},
		{phi.KindLastName, "Nguyễn", "nguyen"},
		{phi.KindLastName, "Zoë", "zoe"},
		{phi.KindNamePrefix, "Ñú", "nu"},
		{phi.KindTag, " Weight-Loss ", "weight-loss"},
	} {
		t.Run(string(tt.kind)+"/"+tt.in, func(t *testing.T) {
			if got, err := phi.Normalize(tt.kind, tt.in); got != tt.want || err != nil {
				t.Errorf("Normalize = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"1980-02-30", "23/04/1980", "yesterday"} {
		if _, err := phi.Normalize(phi.KindDateOfBirth, bad); eonpro.ErrorCode(err) != eonpro.EINVALID {
			t.Errorf("Normalize(dob, %q) = %v, want EINVALID", bad, err)
		}
	}
	if _, err := phi.Normalize("ssn", "x"); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestBlindIndex(t *testing.T) {
	ctx := context.Background()
	ring, _ := newRing(t)
	idx := func(clinic string, kind phi.Kind, v string) string {
		t.Helper()
		s, err := ring.BlindIndex(ctx, clinic, kind, v)
		if err != nil {
			t.Fatalf("BlindIndex: %v", err)
		}
		return s
	}
	same := []struct {
		kind phi.Kind
		a, b string
	}{
		{phi.KindLastName, "Muñoz", "munoz"},
		{phi.KindPhone, "+1 (512) 555-0100", "15125550100"},
		{phi.KindEmail, "Ada@Example.test", "ada@example.test "},
		{phi.KindDateOfBirth, "4/23/1980", "1980-04-23"},
	}
	for _, tt := range same {
		a, b := idx(clinicA, tt.kind, tt.a), idx(clinicA, tt.kind, tt.b)
		if a != b {
			t.Errorf("%s: %q and %q index differently", tt.kind, tt.a, tt.b)
		}
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a) {
			t.Errorf("index %q is not 16 bytes of hex", a)
		}
		if idx(clinicB, tt.kind, tt.a) == a {
			t.Errorf("%s: clinics share an index for %q", tt.kind, tt.a)
		}
	}
	if idx(clinicA, phi.KindLastName, "munoz") == idx(clinicA, phi.KindLastName, "munos") {
		t.Error("different names index alike")
	}
	if idx(clinicA, phi.KindEmail, "15125550100") == idx(clinicA, phi.KindPhone, "15125550100") {
		t.Error("kinds share an index for one string")
	}
	if got := idx(clinicA, phi.KindPhone, "n/a"); got != "" {
		t.Errorf("index of a value that normalises to nothing = %q, want \"\"", got)
	}
	if _, err := ring.BlindIndex(ctx, clinicA, phi.KindDateOfBirth, "soon"); eonpro.ErrorCode(err) != eonpro.EINVALID {
		t.Errorf("bad date: %v, want EINVALID", err)
	}
	// Rotation changes the encryption key, not the index key: indexes stay searchable.
	before := idx(clinicA, phi.KindEmail, "ada@example.test")
	if _, err := ring.Rotate(ctx, clinicA); err != nil {
		t.Fatal(err)
	}
	if idx(clinicA, phi.KindEmail, "ada@example.test") != before {
		t.Error("rotation changed the blind index")
	}
}
