package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/eonpro/eonpro"
)

var _ eonpro.ClinicService = (*ClinicService)(nil)

// ClinicService implements eonpro.ClinicService.
type ClinicService struct{ db *DB }

// NewClinicService returns the clinic service on db.
func NewClinicService(db *DB) *ClinicService { return &ClinicService{db: db} }

var (
	slugRe   = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	domainRe = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	colorRe  = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
)

const clinicColumns = `id, slug, name, status, time_zone, settings, created_at, updated_at`

var (
	insertClinic = Stmt{Name: "insert_clinic", SQL: `
INSERT INTO clinics (id, slug, name, status, time_zone, settings, created_at, updated_at)
VALUES ($1, $2, $3, 'active', 'UTC', $4, $5, $5)`}
	selectClinics = Stmt{Name: "select_clinics", SQL: `
SELECT ` + clinicColumns + ` FROM clinics ORDER BY slug`}
	selectClinicByRef = Stmt{Name: "select_clinic_by_ref", SQL: `
SELECT ` + clinicColumns + ` FROM clinics WHERE slug = $1 OR id = $1`}
	// lockClinicByRef reads a clinic to change it: the row lock keeps two
	// updates at once from writing back each other's old values (a rename
	// undoing a suspension); SQLite has one writer, so it needs no lock.
	lockClinicByRef = Stmt{Name: "select_clinic_by_ref_for_update", SQL: `
SELECT ` + clinicColumns + ` FROM clinics WHERE slug = $1 OR id = $1 FOR UPDATE`, SQLite: `
SELECT ` + clinicColumns + ` FROM clinics WHERE slug = $1 OR id = $1`}
	selectClinicByDomain = Stmt{Name: "select_clinic_by_domain", SQL: `
SELECT c.id, c.slug, c.name, c.status, c.time_zone, c.settings, c.created_at, c.updated_at
FROM clinics c
JOIN clinic_domains d ON d.clinic_id = c.id
WHERE d.domain = $1`}
	selectClinicDomains = Stmt{Name: "select_clinic_domains", SQL: `
SELECT domain FROM clinic_domains WHERE clinic_id = $1 ORDER BY domain`}
	updateClinicRow = Stmt{Name: "update_clinic", SQL: `
UPDATE clinics
SET name = $2,
    status = $3,
    time_zone = $4,
    settings = $5,
    updated_at = $6
WHERE id = $1`}
	deleteClinicDomains = Stmt{Name: "delete_clinic_domains", SQL: `
DELETE FROM clinic_domains WHERE clinic_id = $1`}
	insertClinicDomain = Stmt{Name: "insert_clinic_domain", SQL: `
INSERT INTO clinic_domains (domain, clinic_id, created_at) VALUES ($1, $2, $3)`}
)

// CreateClinic makes a clinic with default settings. Only a super admin
// or the system (no principal: the operator CLI) may.
func (s *ClinicService) CreateClinic(ctx context.Context, slug, name string) (*eonpro.Clinic, error) {
	if p := eonpro.PrincipalFromContext(ctx); p != nil && !p.SuperAdmin {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "Only platform administrators may create clinics.")
	}
	slug = strings.TrimSpace(slug)
	fields := map[string]string{}
	if !slugRe.MatchString(slug) {
		fields["slug"] = "must be 1 to 63 lower-case letters, digits or hyphens, not starting or ending with a hyphen"
	}
	name = clinicName(name, fields)
	if len(fields) > 0 {
		return nil, &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are invalid.", Fields: fields}
	}
	now := s.db.Now()
	c := &eonpro.Clinic{ID: eonpro.NewID(), Slug: slug, Name: name, Status: eonpro.ClinicActive, TimeZone: "UTC",
		Settings: defaultSettings(), Domains: []string{}, CreatedAt: now, UpdatedAt: now}
	settings, _ := json.Marshal(c.Settings)
	err := s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, insertClinic, c.ID, c.Slug, c.Name, string(settings), now)
		return err
	})
	if eonpro.ErrorCode(err) == eonpro.ECONFLICT {
		return nil, &eonpro.Error{Code: eonpro.ECONFLICT, Message: "That slug is taken.", Fields: map[string]string{"slug": "is taken"}}
	} else if err != nil {
		return nil, fmt.Errorf("create clinic: %w", err)
	}
	return c, nil
}

func defaultSettings() eonpro.ClinicSettings {
	return eonpro.ClinicSettings{FeatureFlags: map[string]bool{}, SecurityPolicy: eonpro.DefaultSecurityPolicy()}
}

// FindClinics lists every clinic (super admins).
func (s *ClinicService) FindClinics(ctx context.Context) ([]*eonpro.Clinic, error) {
	if p := eonpro.PrincipalFromContext(ctx); p != nil && !p.SuperAdmin {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "Only platform administrators may list clinics.")
	}
	var out []*eonpro.Clinic
	err := s.db.View(ctx, func(tx *Tx) (err error) {
		if out, err = queryAll(ctx, tx, selectClinics, scanClinic); err != nil {
			return err
		}
		for _, c := range out {
			if c.Domains, err = clinicDomains(ctx, tx, c.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find clinics: %w", err)
	}
	return out, nil
}

// FindClinicByRef finds a clinic by slug or id (tenant resolution).
func (s *ClinicService) FindClinicByRef(ctx context.Context, ref string) (*eonpro.Clinic, error) {
	return s.findOne(ctx, selectClinicByRef, strings.ToLower(strings.TrimSpace(ref)))
}

// FindClinicByDomain finds the clinic owning a custom domain.
func (s *ClinicService) FindClinicByDomain(ctx context.Context, host string) (*eonpro.Clinic, error) {
	return s.findOne(ctx, selectClinicByDomain, strings.ToLower(host))
}

func (s *ClinicService) findOne(ctx context.Context, stmt Stmt, arg string) (*eonpro.Clinic, error) {
	var c *eonpro.Clinic
	err := s.db.View(ctx, func(tx *Tx) (err error) {
		c, err = findClinic(ctx, tx, stmt, arg)
		return err
	})
	return c, err
}

func findClinic(ctx context.Context, tx *Tx, stmt Stmt, arg string) (*eonpro.Clinic, error) {
	rows, err := tx.Query(ctx, stmt, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, eonpro.Errorf(eonpro.ENOTFOUND, "Clinic not found.")
	}
	c, err := scanClinic(rows)
	if err != nil {
		return nil, err
	}
	rows.Close()
	c.Domains, err = clinicDomains(ctx, tx, c.ID)
	return c, err
}

func scanClinic(rows scanner) (*eonpro.Clinic, error) {
	var c eonpro.Clinic
	var settings string
	if err := rows.Scan(&c.ID, &c.Slug, &c.Name, &c.Status, &c.TimeZone, &settings, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, err
	}
	c.Settings = defaultSettings()
	if err := json.Unmarshal([]byte(settings), &c.Settings); err != nil {
		return nil, fmt.Errorf("clinic %s settings: %w", c.ID, err)
	}
	if c.Settings.FeatureFlags == nil {
		c.Settings.FeatureFlags = map[string]bool{}
	}
	return &c, nil
}

func clinicDomains(ctx context.Context, tx *Tx, clinicID string) ([]string, error) {
	return queryAll(ctx, tx, selectClinicDomains, scanString, clinicID)
}

// UpdateClinic changes a clinic. A clinic admin may change the clinic of
// the request (name, time zone, branding, flags, policy); a super admin any
// clinic, and also its status and custom domains.
func (s *ClinicService) UpdateClinic(ctx context.Context, id string, upd eonpro.ClinicUpdate) (*eonpro.Clinic, error) {
	p := eonpro.PrincipalFromContext(ctx)
	super := p == nil || p.SuperAdmin // nil: the system (CLI)
	if !super && (p.ClinicID != id || !p.Can(eonpro.PermClinicManage)) {
		return nil, eonpro.Errorf(eonpro.ENOTFOUND, "Clinic not found.")
	}
	if !super && (upd.Status != nil || upd.Domains != nil) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "Only platform administrators may change a clinic's status or domains.")
	}
	var c *eonpro.Clinic
	err := s.db.InTx(ctx, func(tx *Tx) (err error) {
		if c, err = findClinic(ctx, tx, lockClinicByRef, id); err != nil {
			return err
		}
		if err := applyClinicUpdate(c, upd); err != nil {
			return err
		}
		if err := saveClinic(ctx, tx, c, upd.Domains != nil, s.db.Now()); err != nil {
			return err
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{ClinicID: c.ID, Action: eonpro.ActionClinicSettingsChanged,
			ResourceType: "clinic", ResourceID: c.ID, Detail: map[string]string{"fields": strings.Join(upd.Fields(), ",")}})
	})
	if eonpro.ErrorCode(err) == eonpro.ECONFLICT {
		return nil, &eonpro.Error{Code: eonpro.ECONFLICT, Message: "A domain belongs to another clinic.", Fields: map[string]string{"domains": "a domain is taken"}}
	} else if err != nil {
		return nil, fmt.Errorf("update clinic: %w", err)
	}
	return c, nil
}

func saveClinic(ctx context.Context, tx *Tx, c *eonpro.Clinic, domains bool, now time.Time) error {
	settings, err := json.Marshal(c.Settings)
	if err != nil {
		return err
	}
	c.UpdatedAt = now
	if _, err := tx.Exec(ctx, updateClinicRow, c.ID, c.Name, c.Status, c.TimeZone, string(settings), now); err != nil {
		return err
	}
	if !domains {
		return nil
	}
	if _, err := tx.Exec(ctx, deleteClinicDomains, c.ID); err != nil {
		return err
	}
	for _, d := range c.Domains {
		if _, err := tx.Exec(ctx, insertClinicDomain, d, c.ID, now); err != nil {
			return err
		}
	}
	return nil
}

// clinicName cleans a clinic's name (eonpro.CleanText) and reports a
// problem with it in fields.
func clinicName(name string, fields map[string]string) string {
	name, clean := eonpro.CleanText(name)
	if !clean {
		fields["name"] = eonpro.InvisibleTextMessage
	} else if name == "" || len(name) > 200 {
		fields["name"] = "must be 1 to 200 characters"
	}
	return name
}

// applyClinicUpdate validates upd and applies it to c.
func applyClinicUpdate(c *eonpro.Clinic, upd eonpro.ClinicUpdate) error {
	fields := map[string]string{}
	if upd.Name != nil {
		if n := clinicName(*upd.Name, fields); fields["name"] == "" {
			c.Name = n
		}
	}
	if upd.TimeZone != nil {
		if _, err := time.LoadLocation(*upd.TimeZone); err != nil || *upd.TimeZone == "" || *upd.TimeZone == "Local" {
			fields["time_zone"] = "must be an IANA time zone such as America/Chicago"
		} else {
			c.TimeZone = *upd.TimeZone
		}
	}
	if upd.Status != nil {
		if *upd.Status != eonpro.ClinicActive && *upd.Status != eonpro.ClinicSuspended {
			fields["status"] = "must be active or suspended"
		} else {
			c.Status = *upd.Status
		}
	}
	if upd.Branding != nil {
		validateBranding(*upd.Branding, fields)
		c.Settings.Branding = *upd.Branding
	}
	for name, on := range upd.FeatureFlags {
		if !slugRe.MatchString(strings.ReplaceAll(name, "_", "-")) {
			fields["feature_flags"] = "names must be lower-case letters, digits, hyphens or underscores"
		}
		c.Settings.FeatureFlags[name] = on
	}
	if upd.SecurityPolicy != nil {
		validatePolicy(*upd.SecurityPolicy, fields)
		c.Settings.SecurityPolicy = *upd.SecurityPolicy
	}
	if upd.Domains != nil {
		c.Domains = nil
		for _, d := range *upd.Domains {
			d = strings.ToLower(strings.TrimSpace(d))
			if !domainRe.MatchString(d) {
				fields["domains"] = "must be host names such as portal.example.com"
			} else if !slices.Contains(c.Domains, d) {
				c.Domains = append(c.Domains, d)
			}
		}
	}
	if len(fields) > 0 {
		return &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are invalid.", Fields: fields}
	}
	return nil
}

func validateBranding(b eonpro.Branding, fields map[string]string) {
	if b.PrimaryColor != "" && !colorRe.MatchString(b.PrimaryColor) {
		fields["branding.primary_color"] = "must be a colour like #1a73e8"
	}
	if b.LogoURL != "" && (!strings.HasPrefix(b.LogoURL, "https://") || len(b.LogoURL) > 2000) {
		fields["branding.logo_url"] = "must be an https:// URL"
	}
	if len(b.CustomCSS) > 20000 || strings.Contains(strings.ToLower(b.CustomCSS), "</style") {
		fields["branding.custom_css"] = "must be at most 20000 characters of CSS"
	}
}

func validatePolicy(p eonpro.SecurityPolicy, fields map[string]string) {
	for _, r := range p.MFARoles {
		if !r.Valid() {
			fields["security_policy.mfa_roles"] = "must list known roles"
		}
	}
	if p.IdleTimeoutMinutes < 1 || p.IdleTimeoutMinutes > 24*60 {
		fields["security_policy.idle_timeout_minutes"] = "must be between 1 and 1440"
	}
	if p.AbsoluteSessionHours < 1 || p.AbsoluteSessionHours > 24*30 {
		fields["security_policy.absolute_session_hours"] = "must be between 1 and 720"
	}
}

var selectEveryClinicID = Stmt{Name: "select_every_clinic_id", SQL: `
SELECT id FROM clinics ORDER BY slug`}

// clinicIDs lists the id of every clinic (by slug), for platform work that
// visits each clinic's data in a transaction of its own.
func (db *DB) clinicIDs(ctx context.Context) ([]string, error) {
	var ids []string
	err := db.View(ctx, func(tx *Tx) (err error) {
		ids, err = queryAll(ctx, tx, selectEveryClinicID, scanString)
		return err
	})
	return ids, err
}
