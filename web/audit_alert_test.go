package web

import (
	"context"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

var countAlerts = sqlstore.Stmt{Name: "test_count_alerts", SQL: `
SELECT count(*) FROM outbox WHERE recipient = $1 AND subject LIKE 'Security alert%'`}

// alerts counts the security alerts sent to a recipient.
func (e *idEnv) alerts(to string) int {
	e.t.Helper()
	var n int
	err := e.db.View(context.Background(), func(tx *sqlstore.Tx) error {
		return tx.QueryRow(context.Background(), countAlerts, to).Scan(&n)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestCrossClinicAlertFlood: 50 requests naming another clinic are
// refused (404 as a missing clinic, or 429 once limited) and alert that
// clinic's admins once each, not once per request.
func TestCrossClinicAlertFlood(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.clinic("beta")
		e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		betaAdmins := []string{"admin@beta.test", "admin2@beta.test"}
		for _, email := range betaAdmins {
			e.user(email, false, "beta", eonpro.RoleAdmin)
		}
		tok := e.login("admin@alpha.test")
		for range 50 {
			res := e.do("GET", "/api/v1/clinic", nil, with(bearer(tok), []string{"X-Clinic", "beta"})...)
			if res.Status != 404 && res.Status != 429 {
				t.Fatalf("cross-clinic request: %d %s", res.Status, res.Raw)
			}
		}
		for _, email := range betaAdmins {
			if n := e.alerts(email); n != 1 {
				t.Errorf("%s has %d alerts after 50 cross-clinic requests, want 1", email, n)
			}
		}
		if n := e.alerts("admin@alpha.test"); n != 0 {
			t.Errorf("the requester's own clinic got %d alerts", n)
		}
	})
}
