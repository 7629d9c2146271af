package eonpro

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Credentials are the professional credentials a provider may list, in
// their usual spelling. Input is matched without regard to case.
//
//	MD, DO            physicians
//	PA, PA-C          physician assistants
//	NP, APRN, FNP, PMHNP, AGNP, DNP, CNM, CRNA
//	                  nurse practitioners and other advanced practice nurses
//	RN, LPN           nurses
//	PharmD            pharmacists
//	PsyD, PhD         psychologists
//	LCSW, LPC, LMFT   licensed therapists and counsellors
//	RD                registered dietitians
var Credentials = []string{
	"MD", "DO", "PA", "PA-C", "NP", "APRN", "FNP", "PMHNP", "AGNP", "DNP", "CNM", "CRNA",
	"RN", "LPN", "PharmD", "PsyD", "PhD", "LCSW", "LPC", "LMFT", "RD",
}

// CanonicalCredential returns the listed spelling of credential c (any
// case), and whether it is listed at all.
func CanonicalCredential(c string) (string, bool) {
	i := slices.IndexFunc(Credentials, func(known string) bool { return strings.EqualFold(known, c) })
	if i < 0 {
		return "", false
	}
	return Credentials[i], true
}

// Provider is a clinic member with role provider and their professional
// profile. Name is the member's name, read-only here.
type Provider struct {
	ID                   string     `json:"id"`
	UserID               string     `json:"user_id"`
	Name                 string     `json:"name"`
	Credentials          []string   `json:"credentials"`
	NPI                  string     `json:"npi"`
	DEANumber            string     `json:"dea_number"`
	Specialties          []string   `json:"specialties"`
	Licenses             []*License `json:"licenses"`
	Bio                  string     `json:"bio"`
	AcceptingNewPatients bool       `json:"accepting_new_patients"`
	CreatedAt            time.Time  `json:"created_at"`
	UpdatedAt            time.Time  `json:"updated_at"`
}

// License is a provider's license to practise in one US state.
type License struct {
	ID         string `json:"id"`
	ProviderID string `json:"provider_id"`
	// State is a code of USStates.
	State  string `json:"state"`
	Number string `json:"number"`
	// ExpiresOn is the last day the license is valid, YYYY-MM-DD.
	ExpiresOn string    `json:"expires_on"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewProvider is the input of CreateProvider. AcceptingNewPatients
// defaults to true.
type NewProvider struct {
	UserID               string       `json:"user_id"`
	Credentials          []string     `json:"credentials"`
	NPI                  string       `json:"npi"`
	DEANumber            string       `json:"dea_number"`
	Specialties          []string     `json:"specialties"`
	Licenses             []NewLicense `json:"licenses"`
	Bio                  string       `json:"bio"`
	AcceptingNewPatients *bool        `json:"accepting_new_patients"`
}

// NewLicense is the input of CreateLicense, and of each license given to
// CreateProvider.
type NewLicense struct {
	State     string `json:"state"`
	Number    string `json:"number"`
	ExpiresOn string `json:"expires_on"`
}

// ProviderUpdate holds the profile fields to change; nil means keep. An
// empty DEANumber removes it. Licenses change through their own methods.
type ProviderUpdate struct {
	Credentials          *[]string `json:"credentials"`
	NPI                  *string   `json:"npi"`
	DEANumber            *string   `json:"dea_number"`
	Specialties          *[]string `json:"specialties"`
	Bio                  *string   `json:"bio"`
	AcceptingNewPatients *bool     `json:"accepting_new_patients"`
}

// Fields lists the JSON names of the fields the update sets, for audit
// events.
func (u ProviderUpdate) Fields() []string {
	var out []string
	for name, set := range map[string]bool{
		"credentials": u.Credentials != nil, "npi": u.NPI != nil, "dea_number": u.DEANumber != nil,
		"specialties": u.Specialties != nil, "bio": u.Bio != nil, "accepting_new_patients": u.AcceptingNewPatients != nil,
	} {
		if set {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// LicenseUpdate holds the license fields to change; nil means keep.
type LicenseUpdate struct {
	State     *string `json:"state"`
	Number    *string `json:"number"`
	ExpiresOn *string `json:"expires_on"`
}

// ProviderFilter selects providers of the clinic of the request. State,
// when set, keeps those holding a license in that state that has not
// expired (today, in UTC, is still valid). Limit is 1 to 200 (0 means
// 50); Cursor is the next_cursor of the previous page.
type ProviderFilter struct {
	State  *string
	Limit  int
	Cursor string
}

// ProviderService manages the providers of the clinic of the request and
// their licenses. Reads need providers:read, writes providers:write
// (EFORBIDDEN otherwise). Only members whose role is provider are
// providers: a profile whose member left or changed role is not found
// until they are a provider again. Another clinic's provider or license
// is ENOTFOUND, like a missing one.
type ProviderService interface {
	// CreateProvider makes the profile of a provider member, with its
	// licenses. Returns EINVALID naming the field (user_id when the user
	// is not a member of the clinic with role provider); ECONFLICT when
	// the user already has a profile or another provider of the clinic
	// has the NPI.
	CreateProvider(ctx context.Context, np NewProvider) (*Provider, error)
	// FindProviderByID returns a provider with its licenses. Returns
	// ENOTFOUND.
	FindProviderByID(ctx context.Context, id string) (*Provider, error)
	// FindProviders lists providers with their licenses, oldest profile
	// first, and the cursor of the next page ("" at the end). Returns
	// EINVALID naming state, limit or cursor.
	FindProviders(ctx context.Context, f ProviderFilter) ([]*Provider, string, error)
	// UpdateProvider changes a provider's profile. Returns ENOTFOUND;
	// EINVALID naming the field; ECONFLICT for an NPI another provider
	// of the clinic has.
	UpdateProvider(ctx context.Context, id string, upd ProviderUpdate) (*Provider, error)

	// CreateLicense adds a license to a provider. Returns ENOTFOUND;
	// EINVALID naming the field; ECONFLICT when the provider already has
	// that number in that state.
	CreateLicense(ctx context.Context, providerID string, nl NewLicense) (*License, error)
	// FindLicenses lists a provider's licenses, expired ones included, by
	// state. Returns ENOTFOUND.
	FindLicenses(ctx context.Context, providerID string) ([]*License, error)
	// UpdateLicense changes a license (a renewal moves expires_on).
	// Returns ENOTFOUND; EINVALID naming the field; ECONFLICT as
	// CreateLicense.
	UpdateLicense(ctx context.Context, providerID, licenseID string, upd LicenseUpdate) (*License, error)
	// DeleteLicense removes a license for good (the audit trail keeps
	// the record of it). Returns ENOTFOUND.
	DeleteLicense(ctx context.Context, providerID, licenseID string) error
}

// ValidNPI reports whether s is a National Provider Identifier: ten
// digits whose last is the Luhn check digit of the first nine prefixed
// with 80840 (the ISO card issuer prefix of US health identifiers).
func ValidNPI(s string) bool {
	if len(s) != 10 || !allDigits(s) {
		return false
	}
	return luhnCheckDigit("80840"+s[:9]) == s[9]
}

// luhnCheckDigit returns the Luhn digit that completes digits: doubling
// every second digit from the right, starting with the rightmost.
func luhnCheckDigit(digits string) byte {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// deaRegistrantTypes are the letters a DEA number may start with, one per
// registrant type: A, B, F and G for practitioners, hospitals, clinics and
// pharmacies; M for mid-level practitioners; X for the former DATA-waiver
// prescribers; the others for manufacturers, distributors, researchers,
// narcotic treatment programs and the like.
const deaRegistrantTypes = "ABCDEFGHJKLMPRSTUX"

// ValidDEA reports whether s (upper case) is a DEA registration number:
// a registrant-type letter, any letter (usually the registrant's surname
// initial), and seven digits, the last of which is the last digit of
// d1+d3+d5 + 2×(d2+d4+d6).
func ValidDEA(s string) bool {
	if len(s) != 9 || !strings.ContainsRune(deaRegistrantTypes, rune(s[0])) || s[1] < 'A' || s[1] > 'Z' || !allDigits(s[2:]) {
		return false
	}
	d := func(i int) int { return int(s[1+i] - '0') } // d(1) … d(7)
	sum := d(1) + d(3) + d(5) + 2*(d(2)+d(4)+d(6))
	return sum%10 == d(7)
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
