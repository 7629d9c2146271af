package sqlstore

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/eonpro/eonpro"
)

// Limits on a provider profile.
const (
	maxCredentials   = 10
	maxSpecialties   = 20
	maxSpecialty     = 100
	maxBio           = 4000
	maxLicensesAtNew = 60
)

// newProvider validates the input of a new provider.
func newProvider(np eonpro.NewProvider) (*eonpro.Provider, []eonpro.NewLicense, error) {
	fields := map[string]string{}
	pr := &eonpro.Provider{ID: eonpro.NewID(), UserID: strings.TrimSpace(np.UserID), Licenses: []*eonpro.License{},
		AcceptingNewPatients: np.AcceptingNewPatients == nil || *np.AcceptingNewPatients}
	if pr.UserID == "" {
		fields["user_id"] = "is required"
	}
	pr.Credentials = validCredentials(np.Credentials, fields)
	pr.NPI = validNPI(np.NPI, fields)
	pr.DEANumber = validDEA(np.DEANumber, fields)
	pr.Specialties = validSpecialties(np.Specialties, fields)
	pr.Bio = validBio(np.Bio, fields)
	if len(np.Licenses) > maxLicensesAtNew {
		fields["licenses"] = fmt.Sprintf("must list at most %d licenses", maxLicensesAtNew)
	}
	licenses := make([]eonpro.NewLicense, len(np.Licenses))
	for i, nl := range np.Licenses {
		licenses[i] = validLicense(nl, "licenses["+strconv.Itoa(i)+"].", fields)
	}
	if len(fields) > 0 {
		return nil, nil, &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are invalid.", Fields: fields}
	}
	return pr, licenses, nil
}

// applyProviderUpdate validates upd and applies it to pr.
func applyProviderUpdate(pr *eonpro.Provider, upd eonpro.ProviderUpdate) error {
	fields := map[string]string{}
	if upd.Credentials != nil {
		pr.Credentials = validCredentials(*upd.Credentials, fields)
	}
	if upd.NPI != nil {
		pr.NPI = validNPI(*upd.NPI, fields)
	}
	if upd.DEANumber != nil {
		pr.DEANumber = validDEA(*upd.DEANumber, fields)
	}
	if upd.Specialties != nil {
		pr.Specialties = validSpecialties(*upd.Specialties, fields)
	}
	if upd.Bio != nil {
		pr.Bio = validBio(*upd.Bio, fields)
	}
	if upd.AcceptingNewPatients != nil {
		pr.AcceptingNewPatients = *upd.AcceptingNewPatients
	}
	if len(fields) > 0 {
		return &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are invalid.", Fields: fields}
	}
	return nil
}

func validCredentials(in []string, fields map[string]string) []string {
	out := []string{}
	for _, c := range in {
		canon, ok := eonpro.CanonicalCredential(strings.TrimSpace(c))
		if !ok {
			fields["credentials"] = "must list credentials from: " + strings.Join(eonpro.Credentials, ", ")
			return nil
		}
		if !slices.Contains(out, canon) {
			out = append(out, canon)
		}
	}
	if len(out) == 0 || len(out) > maxCredentials {
		fields["credentials"] = fmt.Sprintf("must list 1 to %d credentials", maxCredentials)
	}
	return out
}

func validNPI(npi string, fields map[string]string) string {
	npi = strings.TrimSpace(npi)
	if !eonpro.ValidNPI(npi) {
		fields["npi"] = "must be a 10-digit NPI with a valid check digit"
	}
	return npi
}

func validDEA(dea string, fields map[string]string) string {
	dea = strings.ToUpper(strings.TrimSpace(dea))
	if dea != "" && !eonpro.ValidDEA(dea) {
		fields["dea_number"] = "must be a DEA number (two letters, seven digits) with a valid check digit"
	}
	return dea
}

func validSpecialties(in []string, fields map[string]string) []string {
	out := []string{}
	for _, sp := range in {
		sp, ok := eonpro.CleanText(sp)
		if !ok {
			fields["specialties"] = eonpro.InvisibleTextMessage
		} else if sp == "" || utf8.RuneCountInString(sp) > maxSpecialty {
			fields["specialties"] = fmt.Sprintf("must each be 1 to %d characters", maxSpecialty)
		} else if !slices.Contains(out, sp) {
			out = append(out, sp)
		}
	}
	if len(out) > maxSpecialties {
		fields["specialties"] = fmt.Sprintf("must list at most %d specialties", maxSpecialties)
	}
	return out
}

func validBio(bio string, fields map[string]string) string {
	bio, ok := eonpro.CleanMultilineText(bio)
	if !ok {
		fields["bio"] = "must not contain invisible or control characters other than line breaks"
	} else if utf8.RuneCountInString(bio) > maxBio {
		fields["bio"] = fmt.Sprintf("must be at most %d characters", maxBio)
	}
	return bio
}
