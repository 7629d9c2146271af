package eonpro_test

import (
	"testing"

	"github.com/eonpro/eonpro"
)

func TestValidNPI(t *testing.T) {
	for _, tc := range []struct {
		npi  string
		want bool
	}{
		{"1234567893", true}, // the CMS worked example
		{"1245319599", true},
		{"1993999998", true},
		{"2000000002", true},
		{"1043957061", true},
		{"1234567890", false}, // wrong check digit
		{"1234567894", false},
		{"1245319590", false},
		{"2134567893", false}, // two digits swapped
		{"123456789", false},  // nine digits
		{"12345678930", false},
		{"123456789X", false},
		{"12345 7893", false},
		{"", false},
		{"１２３４５６７８９３", false}, // full-width digits
	} {
		if got := eonpro.ValidNPI(tc.npi); got != tc.want {
			t.Errorf("ValidNPI(%q) = %v, want %v", tc.npi, got, tc.want)
		}
	}
}

func TestValidDEA(t *testing.T) {
	for _, tc := range []struct {
		dea  string
		want bool
	}{
		{"AB1234563", true}, // 1+3+5 + 2×(2+4+6) = 33
		{"BJ7654329", true},
		{"MS9182736", true}, // mid-level practitioner
		{"FZ0000000", true},
		{"XA1111119", true},
		{"AB1234564", false}, // wrong check digit
		{"AB1234536", false}, // digits swapped
		{"IB1234563", false}, // I is no registrant type
		{"NB1234563", false},
		{"ZB1234563", false},
		{"A91234563", false}, // second character a digit
		{"ab1234563", false}, // the store upper-cases input first
		{"AB123456", false},
		{"AB12345630", false},
		{"AB12345X3", false},
		{"", false},
	} {
		if got := eonpro.ValidDEA(tc.dea); got != tc.want {
			t.Errorf("ValidDEA(%q) = %v, want %v", tc.dea, got, tc.want)
		}
	}
}

func TestUSStates(t *testing.T) {
	if n := len(eonpro.USStates); n != 56 {
		t.Errorf("%d codes, want 56: 50 states, DC and 5 territories", n)
	}
	for _, tc := range []struct {
		code string
		want bool
	}{
		{"TX", true}, {"DC", true}, {"PR", true}, {"GU", true}, {"VI", true}, {"AS", true}, {"MP", true},
		{"tx", false}, {"XX", false}, {"AE", false}, {"", false}, {"TEX", false},
	} {
		if got := eonpro.ValidUSState(tc.code); got != tc.want {
			t.Errorf("ValidUSState(%q) = %v, want %v", tc.code, got, tc.want)
		}
	}
}

func TestCanonicalCredential(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"MD", "MD", true}, {"md", "MD", true}, {"pa-c", "PA-C", true}, {"PHARMD", "PharmD", true},
		{"Dr", "", false}, {"", "", false},
	} {
		got, ok := eonpro.CanonicalCredential(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("CanonicalCredential(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
