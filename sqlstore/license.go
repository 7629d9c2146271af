package sqlstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/eonpro/eonpro"
)

// licenseNumberRe is a state license number as boards print them: letters
// and digits, possibly with spaces, periods, hyphens or slashes.
var licenseNumberRe = regexp.MustCompile(`^[A-Z0-9](?:[A-Z0-9 ./-]{0,38}[A-Z0-9])?$`)

var (
	insertLicenseRow = Stmt{Name: "insert_provider_license", SQL: `
INSERT INTO provider_licenses (
    id,
    clinic_id,
    provider_id,
    state,
    number,
    expires_on,
    created_at,
    updated_at
) VALUES ($1, $2, $3, $4, $5, $6::date, $7, $7)`, SQLite: `
INSERT INTO provider_licenses (
    id,
    clinic_id,
    provider_id,
    state,
    number,
    expires_on,
    created_at,
    updated_at
) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`}
	// selectLicensesOf takes the provider ids as a JSON array ($2).
	selectLicensesOf = Stmt{Name: "select_provider_licenses", SQL: `
SELECT id, provider_id, state, number, to_char(expires_on, 'YYYY-MM-DD'), created_at, updated_at
FROM provider_licenses
WHERE clinic_id = $1 AND provider_id IN (SELECT json_array_elements_text($2::json))`, SQLite: `
SELECT id, provider_id, state, number, expires_on, created_at, updated_at
FROM provider_licenses
WHERE clinic_id = $1 AND provider_id IN (SELECT value FROM json_each($2))`}
	selectLicense = Stmt{Name: "select_provider_license", SQL: `
SELECT id, provider_id, state, number, to_char(expires_on, 'YYYY-MM-DD'), created_at, updated_at
FROM provider_licenses
WHERE clinic_id = $1 AND provider_id = $2 AND id = $3`, SQLite: `
SELECT id, provider_id, state, number, expires_on, created_at, updated_at
FROM provider_licenses
WHERE clinic_id = $1 AND provider_id = $2 AND id = $3`}
	selectLicenseTaken = Stmt{Name: "select_provider_license_taken", SQL: `
SELECT 1 FROM provider_licenses
WHERE clinic_id = $1 AND provider_id = $2 AND state = $3 AND number = $4 AND id <> $5`}
	updateLicenseRow = Stmt{Name: "update_provider_license", SQL: `
UPDATE provider_licenses
SET state = $4,
    number = $5,
    expires_on = $6::date,
    updated_at = $7
WHERE clinic_id = $1 AND provider_id = $2 AND id = $3`, SQLite: `
UPDATE provider_licenses
SET state = $4,
    number = $5,
    expires_on = $6,
    updated_at = $7
WHERE clinic_id = $1 AND provider_id = $2 AND id = $3`}
	deleteLicenseRow = Stmt{Name: "delete_provider_license", SQL: `
DELETE FROM provider_licenses WHERE clinic_id = $1 AND provider_id = $2 AND id = $3`}
)

// today is the date of the store clock in UTC: a license is valid through
// its expiry date, so one that expires today still counts (and where the
// day is already over in UTC but not in the clinic, it stops counting a
// few hours early, never late).
func today(db *DB) string { return db.Now().Format(time.DateOnly) }

// CreateLicense adds a license to a provider of the clinic of the request.
func (s *ProviderService) CreateLicense(ctx context.Context, providerID string, nl eonpro.NewLicense) (*eonpro.License, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermProvidersWrite) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not manage providers.")
	}
	fields := map[string]string{}
	nl = validLicense(nl, "", fields)
	if len(fields) > 0 {
		return nil, &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are invalid.", Fields: fields}
	}
	var l *eonpro.License
	err := s.db.InClinic(ctx, p.ClinicID, func(tx *Tx) error {
		if _, err := findProvider(ctx, tx, lockProvider, providerID); err != nil {
			return err
		}
		l = newLicenseRow(providerID, nl)
		return insertLicense(ctx, tx, l, s.now())
	})
	if err != nil {
		return nil, fmt.Errorf("create license: %w", err)
	}
	return l, nil
}

func newLicenseRow(providerID string, nl eonpro.NewLicense) *eonpro.License {
	return &eonpro.License{ID: eonpro.NewID(), ProviderID: providerID, State: nl.State, Number: nl.Number, ExpiresOn: nl.ExpiresOn}
}

// insertLicense stores l, refusing a number the provider already holds in
// that state, and records it.
func insertLicense(ctx context.Context, tx *Tx, l *eonpro.License, now time.Time) error {
	if err := checkLicenseTaken(ctx, tx, l); err != nil {
		return err
	}
	l.CreatedAt, l.UpdatedAt = now, now
	if _, err := tx.Exec(ctx, insertLicenseRow, l.ID, tx.ClinicID(), l.ProviderID, l.State, l.Number, l.ExpiresOn, now); err != nil {
		return err
	}
	return auditLicense(ctx, tx, eonpro.ActionLicenseAdded, l)
}

func checkLicenseTaken(ctx context.Context, tx *Tx, l *eonpro.License) error {
	var one int
	err := tx.QueryRow(ctx, selectLicenseTaken, tx.ClinicID(), l.ProviderID, l.State, l.Number, l.ID).Scan(&one)
	if err == nil {
		return &eonpro.Error{Code: eonpro.ECONFLICT, Message: "The provider already has that license.",
			Fields: map[string]string{"number": "is already recorded for the provider in that state"}}
	} else if err != ErrNoRows {
		return err
	}
	return nil
}

func auditLicense(ctx context.Context, tx *Tx, action eonpro.AuditAction, l *eonpro.License) error {
	return recordAudit(ctx, tx, eonpro.AuditEvent{Action: action, ResourceType: "license", ResourceID: l.ID,
		Detail: map[string]string{"provider_id": l.ProviderID, "state": l.State, "expires_on": l.ExpiresOn}})
}

// FindLicenses lists a provider's licenses by state.
func (s *ProviderService) FindLicenses(ctx context.Context, providerID string) ([]*eonpro.License, error) {
	pr, err := s.FindProviderByID(ctx, providerID)
	if err != nil {
		return nil, err
	}
	return pr.Licenses, nil
}

// UpdateLicense changes a license of a provider of the clinic.
func (s *ProviderService) UpdateLicense(ctx context.Context, providerID, licenseID string, upd eonpro.LicenseUpdate) (*eonpro.License, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermProvidersWrite) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not manage providers.")
	}
	var l *eonpro.License
	err := s.db.InClinic(ctx, p.ClinicID, func(tx *Tx) (err error) {
		if l, err = findLicense(ctx, tx, providerID, licenseID); err != nil {
			return err
		}
		if err := applyLicenseUpdate(l, upd); err != nil {
			return err
		}
		if err := checkLicenseTaken(ctx, tx, l); err != nil {
			return err
		}
		l.UpdatedAt = s.now()
		if _, err := tx.Exec(ctx, updateLicenseRow, tx.ClinicID(), l.ProviderID, l.ID, l.State, l.Number, l.ExpiresOn, l.UpdatedAt); err != nil {
			return err
		}
		return auditLicense(ctx, tx, eonpro.ActionLicenseUpdated, l)
	})
	if err != nil {
		return nil, fmt.Errorf("update license: %w", err)
	}
	return l, nil
}

// DeleteLicense removes a license of a provider of the clinic for good;
// its audit events keep what it was.
func (s *ProviderService) DeleteLicense(ctx context.Context, providerID, licenseID string) error {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermProvidersWrite) {
		return eonpro.Errorf(eonpro.EFORBIDDEN, "You may not manage providers.")
	}
	err := s.db.InClinic(ctx, p.ClinicID, func(tx *Tx) error {
		l, err := findLicense(ctx, tx, providerID, licenseID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, deleteLicenseRow, tx.ClinicID(), l.ProviderID, l.ID); err != nil {
			return err
		}
		return auditLicense(ctx, tx, eonpro.ActionLicenseRemoved, l)
	})
	if err != nil {
		return fmt.Errorf("delete license: %w", err)
	}
	return nil
}

// findLicense finds a license of a visible provider (locked, on
// PostgreSQL, for the change that follows).
func findLicense(ctx context.Context, tx *Tx, providerID, licenseID string) (*eonpro.License, error) {
	if _, err := findProvider(ctx, tx, lockProvider, providerID); err != nil {
		return nil, err
	}
	l, err := scanLicense(tx.QueryRow(ctx, selectLicense, tx.ClinicID(), providerID, licenseID))
	if err == ErrNoRows {
		return nil, eonpro.Errorf(eonpro.ENOTFOUND, "License not found.")
	}
	return l, err
}

func scanLicense(row scanner) (*eonpro.License, error) {
	var l eonpro.License
	if err := row.Scan(&l.ID, &l.ProviderID, &l.State, &l.Number, &l.ExpiresOn, &l.CreatedAt, &l.UpdatedAt); err != nil {
		return nil, err
	}
	return &l, nil
}

// attachLicenses loads the licenses of prs, in one statement.
func attachLicenses(ctx context.Context, tx *Tx, prs []*eonpro.Provider) error {
	if len(prs) == 0 {
		return nil
	}
	byID := make(map[string]*eonpro.Provider, len(prs))
	ids := make([]string, 0, len(prs))
	for _, pr := range prs {
		byID[pr.ID] = pr
		ids = append(ids, pr.ID)
		pr.Licenses = []*eonpro.License{}
	}
	idJSON, _ := json.Marshal(ids)
	rows, err := tx.Query(ctx, selectLicensesOf, tx.ClinicID(), string(idJSON))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanLicense(rows)
		if err != nil {
			return err
		}
		byID[l.ProviderID].Licenses = append(byID[l.ProviderID].Licenses, l)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, pr := range prs {
		slices.SortFunc(pr.Licenses, compareLicenses)
	}
	return nil
}

// compareLicenses orders licenses by state, then latest expiry first.
func compareLicenses(a, b *eonpro.License) int {
	return cmp.Or(strings.Compare(a.State, b.State), strings.Compare(b.ExpiresOn, a.ExpiresOn), strings.Compare(a.ID, b.ID))
}

// validLicense checks and normalises a license; field names in fields
// carry prefix (licenses[2]. for the third of a new provider's).
func validLicense(nl eonpro.NewLicense, prefix string, fields map[string]string) eonpro.NewLicense {
	nl.State = strings.ToUpper(strings.TrimSpace(nl.State))
	nl.Number = strings.ToUpper(strings.TrimSpace(nl.Number))
	nl.ExpiresOn = strings.TrimSpace(nl.ExpiresOn)
	if !eonpro.ValidUSState(nl.State) {
		fields[prefix+"state"] = "must be a US state or territory code, like TX"
	}
	if !licenseNumberRe.MatchString(nl.Number) {
		fields[prefix+"number"] = "must be 1 to 40 letters or digits (spaces, periods, hyphens and slashes between them)"
	}
	if d, err := time.Parse(time.DateOnly, nl.ExpiresOn); err != nil || d.Year() < 1900 {
		fields[prefix+"expires_on"] = "must be a date, YYYY-MM-DD"
	}
	return nl
}

// applyLicenseUpdate validates upd and applies it to l.
func applyLicenseUpdate(l *eonpro.License, upd eonpro.LicenseUpdate) error {
	nl := eonpro.NewLicense{State: l.State, Number: l.Number, ExpiresOn: l.ExpiresOn}
	if upd.State != nil {
		nl.State = *upd.State
	}
	if upd.Number != nil {
		nl.Number = *upd.Number
	}
	if upd.ExpiresOn != nil {
		nl.ExpiresOn = *upd.ExpiresOn
	}
	fields := map[string]string{}
	nl = validLicense(nl, "", fields)
	if len(fields) > 0 {
		return &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are invalid.", Fields: fields}
	}
	l.State, l.Number, l.ExpiresOn = nl.State, nl.Number, nl.ExpiresOn
	return nil
}
