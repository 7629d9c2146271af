package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// providerIn makes a provider member of c and their profile, with one
// license in TX.
func providerIn(t *testing.T, db *sqlstore.DB, c *eonpro.Clinic, npi string) *eonpro.Provider {
	t.Helper()
	ctx := context.Background()
	users := sqlstore.NewUserService(db, nil, nil)
	u, err := users.CreateUser(ctx, eonpro.NewUser{Email: "doc-" + npi + "@" + c.Slug + ".test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := users.AddMembership(ctx, u.ID, c.ID, eonpro.RoleProvider); err != nil {
		t.Fatal(err)
	}
	pr, err := sqlstore.NewProviderService(db).CreateProvider(admin(c), eonpro.NewProvider{UserID: u.ID,
		Credentials: []string{"MD"}, NPI: npi, Licenses: []eonpro.NewLicense{{State: "TX", Number: "1", ExpiresOn: "2030-01-01"}}})
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func TestProviderService(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newAuditEnv(t, db)
		c := e.clinic("alpha")
		pr := providerIn(t, db, c, "1234567893")
		svc := sqlstore.NewProviderService(db)
		t.Run("ErrForbidden", func(t *testing.T) {
			staff := eonpro.NewContextWithPrincipal(context.Background(), &eonpro.Principal{UserID: "u", ClinicID: c.ID,
				Role: eonpro.RoleStaff, Permissions: eonpro.RolePermissions[eonpro.RoleStaff]})
			bio := "x"
			_, err := svc.UpdateProvider(staff, pr.ID, eonpro.ProviderUpdate{Bio: &bio})
			if code := eonpro.ErrorCode(err); code != eonpro.EFORBIDDEN {
				t.Errorf("staff updates: %v, want forbidden", err)
			}
			if err := svc.DeleteLicense(staff, pr.ID, pr.Licenses[0].ID); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
				t.Errorf("staff deletes a license: %v, want forbidden", err)
			}
			if _, _, err := svc.FindProviders(context.Background(), eonpro.ProviderFilter{}); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
				t.Errorf("no principal lists: %v, want forbidden", err)
			}
			if got, err := svc.FindProviderByID(staff, pr.ID); err != nil || got.Bio != "" {
				t.Errorf("staff reads: %+v, %v", got, err)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			other := e.clinic("beta")
			if _, err := svc.FindProviderByID(admin(other), pr.ID); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
				t.Errorf("beta reads alpha's provider: %v, want not found", err)
			}
			if _, err := svc.FindLicenses(admin(other), pr.ID); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
				t.Errorf("beta lists alpha's licenses: %v, want not found", err)
			}
		})
	})
}

// TestProviderRowSecurity checks the second wall on PostgreSQL: a role
// that is subject to row-level security (the tests otherwise connect as a
// superuser, which is not) sees and writes only the rows of the clinic in
// app.clinic_id, and none when it is unset.
func TestProviderRowSecurity(t *testing.T) {
	if !runsPostgres(t) {
		t.Skip("PostgreSQL only")
	}
	ctx := context.Background()
	db := sqltest.Open(t, sqlstore.Postgres, nil)
	e := newAuditEnv(t, db)
	a, b := e.clinic("alpha"), e.clinic("beta")
	providerIn(t, db, a, "1234567893")
	pb := providerIn(t, db, b, "1245319599")
	role := rlsRole(t, db)

	count := func(clinicID, table string) (int, error) {
		tx, err := db.Pool().Begin(ctx)
		if err != nil {
			return 0, err
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+role); err != nil {
			return 0, err
		}
		if clinicID != "" {
			if _, err := tx.Exec(ctx, "SELECT set_config('app.clinic_id', $1, true)", clinicID); err != nil {
				return 0, err
			}
		}
		var n int
		err = tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
		return n, err
	}
	for _, table := range []string{"providers", "provider_licenses"} {
		for _, tc := range []struct {
			clinic string
			want   int
		}{{a.ID, 1}, {b.ID, 1}, {"", 0}} {
			if n, err := count(tc.clinic, table); err != nil || n != tc.want {
				t.Errorf("%s seen in clinic %q: %d, %v; want %d", table, tc.clinic, n, err, tc.want)
			}
		}
	}

	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+role); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT set_config('app.clinic_id', $1, true)", a.ID); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO provider_licenses (id, clinic_id, provider_id, state, number, expires_on, created_at, updated_at)
VALUES ($1, $2, $3, 'CA', '9', '2030-01-01', now(), now())`, eonpro.NewID(), b.ID, pb.ID)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" {
		t.Errorf("insert into beta while in alpha: %v, want a row-level security violation (42501)", err)
	}
}

// runsPostgres reports whether the run covers PostgreSQL.
func runsPostgres(t *testing.T) bool {
	for _, e := range sqltest.Engines(t) {
		if e == sqlstore.Postgres {
			return true
		}
	}
	return false
}

// rlsRole creates a role without superuser or BYPASSRLS that may read and
// write the provider tables, dropped when the test ends.
func rlsRole(t *testing.T, db *sqlstore.DB) string {
	t.Helper()
	ctx := context.Background()
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	role := "eonpro_rls_" + hex.EncodeToString(buf)
	for _, stmt := range []string{
		"CREATE ROLE " + role + " NOLOGIN NOSUPERUSER NOBYPASSRLS",
		"GRANT SELECT, INSERT ON providers, provider_licenses TO " + role,
	} {
		if _, err := db.Pool().Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, stmt := range []string{"DROP OWNED BY " + role, "DROP ROLE " + role} {
			if _, err := db.Pool().Exec(context.Background(), stmt); err != nil {
				t.Errorf("%s: %v", stmt, err)
			}
		}
	})
	return role
}
