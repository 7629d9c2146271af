package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eonpro/eonpro"
)

var _ eonpro.ProviderService = (*ProviderService)(nil)

// ProviderService implements eonpro.ProviderService.
type ProviderService struct{ db *DB }

// NewProviderService returns the provider service on db.
func NewProviderService(db *DB) *ProviderService { return &ProviderService{db: db} }

// now is the store clock at the precision both engines keep, so that what
// a write returns is what a later read finds.
func (s *ProviderService) now() time.Time { return s.db.Now() }

// providerFrom is the provider rows that are visible: those whose user is
// a member of the clinic with role provider.
const providerFrom = `
FROM providers p
JOIN memberships m ON m.clinic_id = p.clinic_id AND m.user_id = p.user_id AND m.role = 'provider'
JOIN users u ON u.id = p.user_id`

const providerColumns = `p.id, p.user_id, u.name, p.credentials, p.npi, p.dea_number, p.specialties, p.bio,
    p.accepting_new_patients, p.created_at, p.updated_at`

var (
	selectMemberRoleName = Stmt{Name: "select_member_role_name", SQL: `
SELECT m.role, u.name
FROM memberships m
JOIN users u ON u.id = m.user_id
WHERE m.clinic_id = $1 AND m.user_id = $2`}
	selectProviderClash = Stmt{Name: "select_provider_clash", SQL: `
SELECT user_id = $2, npi = $3 FROM providers WHERE clinic_id = $1 AND (user_id = $2 OR npi = $3)`}
	selectNPITaken = Stmt{Name: "select_provider_npi_taken", SQL: `
SELECT 1 FROM providers WHERE clinic_id = $1 AND npi = $2 AND id <> $3`}
	insertProvider = Stmt{Name: "insert_provider", SQL: `
INSERT INTO providers (
    id,
    clinic_id,
    user_id,
    credentials,
    npi,
    dea_number,
    specialties,
    bio,
    accepting_new_patients,
    created_at,
    updated_at
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`}
	selectProvider = Stmt{Name: "select_provider", SQL: `
SELECT ` + providerColumns + providerFrom + `
WHERE p.clinic_id = $1 AND p.id = $2`}
	// lockProvider reads a provider to change it: the row lock keeps two
	// updates at once from writing back each other's old values; SQLite
	// has one writer, so it needs no lock.
	lockProvider = Stmt{Name: "select_provider_for_update", SQL: `
SELECT ` + providerColumns + providerFrom + `
WHERE p.clinic_id = $1 AND p.id = $2
FOR UPDATE OF p`, SQLite: `
SELECT ` + providerColumns + providerFrom + `
WHERE p.clinic_id = $1 AND p.id = $2`}
	// selectProviderPage: $2 a state whose unexpired licenses qualify ($3
	// is today), $4 the cursor (the last id shown), $5 the limit.
	selectProviderPage = Stmt{Name: "select_provider_page", SQL: `
SELECT ` + providerColumns + providerFrom + `
WHERE p.clinic_id = $1
  AND ($2::text IS NULL OR EXISTS (
      SELECT 1 FROM provider_licenses l
      WHERE l.clinic_id = p.clinic_id AND l.provider_id = p.id AND l.state = $2 AND l.expires_on >= $3::date))
  AND ($4::text IS NULL OR p.id > $4)
ORDER BY p.id
LIMIT $5`, SQLite: `
SELECT ` + providerColumns + providerFrom + `
WHERE p.clinic_id = $1
  AND ($2 IS NULL OR EXISTS (
      SELECT 1 FROM provider_licenses l
      WHERE l.clinic_id = p.clinic_id AND l.provider_id = p.id AND l.state = $2 AND l.expires_on >= $3))
  AND ($4 IS NULL OR p.id > $4)
ORDER BY p.id
LIMIT $5`}
	updateProviderRow = Stmt{Name: "update_provider", SQL: `
UPDATE providers
SET credentials = $3,
    npi = $4,
    dea_number = $5,
    specialties = $6,
    bio = $7,
    accepting_new_patients = $8,
    updated_at = $9
WHERE clinic_id = $1 AND id = $2`}
)

// CreateProvider makes the profile of a provider member of the clinic of
// the request, with its licenses.
func (s *ProviderService) CreateProvider(ctx context.Context, np eonpro.NewProvider) (*eonpro.Provider, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermProvidersWrite) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not manage providers.")
	}
	pr, licenses, err := newProvider(np)
	if err != nil {
		return nil, err
	}
	err = s.db.InClinic(ctx, p.ClinicID, func(tx *Tx) error {
		pr.Licenses = []*eonpro.License{}
		if err := checkNewProvider(ctx, tx, pr); err != nil {
			return err
		}
		now := s.now()
		if err := insertNewProvider(ctx, tx, pr, now); err != nil {
			return err
		}
		for _, nl := range licenses {
			l := newLicenseRow(pr.ID, nl)
			if err := insertLicense(ctx, tx, l, now); err != nil {
				return err
			}
			pr.Licenses = append(pr.Licenses, l)
		}
		slices.SortFunc(pr.Licenses, compareLicenses)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create provider: %w", err)
	}
	return pr, nil
}

// checkNewProvider refuses a user who is not a provider member of the
// clinic, and a user or NPI that already has a profile in it; it sets the
// provider's name.
func checkNewProvider(ctx context.Context, tx *Tx, pr *eonpro.Provider) error {
	var role string
	err := tx.QueryRow(ctx, selectMemberRoleName, tx.ClinicID(), pr.UserID).Scan(&role, &pr.Name)
	if err == ErrNoRows || (err == nil && role != string(eonpro.RoleProvider)) {
		return eonpro.FieldError("user_id", "must be a member of the clinic with role provider")
	} else if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, selectProviderClash, tx.ClinicID(), pr.UserID, pr.NPI)
	if err != nil {
		return err
	}
	defer rows.Close()
	fields := map[string]string{}
	for rows.Next() {
		var sameUser, sameNPI bool
		if err := rows.Scan(&sameUser, &sameNPI); err != nil {
			return err
		}
		if sameUser {
			fields["user_id"] = "already has a provider profile"
		}
		if sameNPI {
			fields["npi"] = "belongs to another provider of the clinic"
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(fields) > 0 {
		return &eonpro.Error{Code: eonpro.ECONFLICT, Message: "The provider already exists.", Fields: fields}
	}
	return nil
}

func insertNewProvider(ctx context.Context, tx *Tx, pr *eonpro.Provider, now time.Time) error {
	pr.CreatedAt, pr.UpdatedAt = now, now
	creds, specs := jsonList(pr.Credentials), jsonList(pr.Specialties)
	if _, err := tx.Exec(ctx, insertProvider, pr.ID, tx.ClinicID(), pr.UserID, creds, pr.NPI, pr.DEANumber, specs,
		pr.Bio, pr.AcceptingNewPatients, now); err != nil {
		return err
	}
	return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionProviderCreated, ResourceType: "provider",
		ResourceID: pr.ID, Detail: map[string]string{"user_id": pr.UserID}})
}

func jsonList(v []string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// FindProviderByID returns a provider of the clinic of the request.
func (s *ProviderService) FindProviderByID(ctx context.Context, id string) (*eonpro.Provider, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermProvidersRead) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not see providers.")
	}
	var pr *eonpro.Provider
	err := s.db.ViewClinic(ctx, p.ClinicID, func(tx *Tx) (err error) {
		if pr, err = findProvider(ctx, tx, selectProvider, id); err != nil {
			return err
		}
		return attachLicenses(ctx, tx, []*eonpro.Provider{pr})
	})
	if err != nil {
		return nil, fmt.Errorf("find provider: %w", err)
	}
	return pr, nil
}

func findProvider(ctx context.Context, tx *Tx, stmt Stmt, id string) (*eonpro.Provider, error) {
	pr, err := scanProvider(tx.QueryRow(ctx, stmt, tx.ClinicID(), id))
	if err == ErrNoRows {
		return nil, eonpro.Errorf(eonpro.ENOTFOUND, "Provider not found.")
	}
	return pr, err
}

func scanProvider(row scanner) (*eonpro.Provider, error) {
	var pr eonpro.Provider
	var creds, specs string
	if err := row.Scan(&pr.ID, &pr.UserID, &pr.Name, &creds, &pr.NPI, &pr.DEANumber, &specs, &pr.Bio,
		&pr.AcceptingNewPatients, &pr.CreatedAt, &pr.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(creds), &pr.Credentials); err != nil {
		return nil, fmt.Errorf("provider %s credentials: %w", pr.ID, err)
	}
	if err := json.Unmarshal([]byte(specs), &pr.Specialties); err != nil {
		return nil, fmt.Errorf("provider %s specialties: %w", pr.ID, err)
	}
	pr.Licenses = []*eonpro.License{}
	return &pr, nil
}

// FindProviders lists providers of the clinic of the request by id
// (creation order).
func (s *ProviderService) FindProviders(ctx context.Context, f eonpro.ProviderFilter) ([]*eonpro.Provider, string, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermProvidersRead) {
		return nil, "", eonpro.Errorf(eonpro.EFORBIDDEN, "You may not see providers.")
	}
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	var state, cursor *string
	if f.State != nil {
		st := strings.ToUpper(strings.TrimSpace(*f.State))
		if !eonpro.ValidUSState(st) {
			return nil, "", eonpro.FieldError("state", "must be a US state or territory code, like TX")
		}
		state = &st
	}
	if cursor, err = idCursor(f.Cursor); err != nil {
		return nil, "", err
	}
	var out []*eonpro.Provider
	err = s.db.ViewClinic(ctx, p.ClinicID, func(tx *Tx) error {
		if out, err = queryAll(ctx, tx, selectProviderPage, scanProvider, p.ClinicID, state, today(s.db), cursor, limit+1); err != nil {
			return err
		}
		return attachLicenses(ctx, tx, out)
	})
	if err != nil {
		return nil, "", fmt.Errorf("find providers: %w", err)
	}
	out, next := cutPage(out, limit, func(p *eonpro.Provider) string { return p.ID })
	return out, next, nil
}

// UpdateProvider changes a provider's profile.
func (s *ProviderService) UpdateProvider(ctx context.Context, id string, upd eonpro.ProviderUpdate) (*eonpro.Provider, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermProvidersWrite) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not manage providers.")
	}
	var pr *eonpro.Provider
	err := s.db.InClinic(ctx, p.ClinicID, func(tx *Tx) (err error) {
		if pr, err = findProvider(ctx, tx, lockProvider, id); err != nil {
			return err
		}
		if err := applyProviderUpdate(pr, upd); err != nil {
			return err
		}
		if err := saveProvider(ctx, tx, pr, upd.NPI != nil, s.now()); err != nil {
			return err
		}
		if err := recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionProviderUpdated, ResourceType: "provider",
			ResourceID: pr.ID, Detail: map[string]string{"fields": strings.Join(upd.Fields(), ",")}}); err != nil {
			return err
		}
		return attachLicenses(ctx, tx, []*eonpro.Provider{pr})
	})
	if err != nil {
		return nil, fmt.Errorf("update provider: %w", err)
	}
	return pr, nil
}

func saveProvider(ctx context.Context, tx *Tx, pr *eonpro.Provider, npiChanged bool, now time.Time) error {
	if npiChanged {
		var one int
		err := tx.QueryRow(ctx, selectNPITaken, tx.ClinicID(), pr.NPI, pr.ID).Scan(&one)
		if err == nil {
			return &eonpro.Error{Code: eonpro.ECONFLICT, Message: "The NPI belongs to another provider.",
				Fields: map[string]string{"npi": "belongs to another provider of the clinic"}}
		} else if err != ErrNoRows {
			return err
		}
	}
	pr.UpdatedAt = now
	_, err := tx.Exec(ctx, updateProviderRow, tx.ClinicID(), pr.ID, jsonList(pr.Credentials), pr.NPI, pr.DEANumber,
		jsonList(pr.Specialties), pr.Bio, pr.AcceptingNewPatients, now)
	return err
}
