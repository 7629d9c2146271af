package web

import (
	"context"
	"slices"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

var selectAuditActions = sqlstore.Stmt{Name: "test_select_audit_actions", SQL: `
SELECT action, outcome, COALESCE(clinic_id, ''), actor_id
FROM audit_events
ORDER BY occurred_at, seq`}

type auditRow struct{ action, outcome, clinic, actor string }

func auditRows(t *testing.T, e *idEnv) []auditRow {
	t.Helper()
	var out []auditRow
	err := e.db.View(context.Background(), func(tx *sqlstore.Tx) error {
		rows, err := tx.Query(context.Background(), selectAuditActions)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r auditRow
			if err := rows.Scan(&r.action, &r.outcome, &r.clinic, &r.actor); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// has reports whether rows hold an event of action with outcome in clinic
// (clinic "" is the platform chain) by actor ("" for any).
func has(rows []auditRow, action eonpro.AuditAction, outcome, clinic, actor string) bool {
	return slices.ContainsFunc(rows, func(r auditRow) bool {
		return r.action == string(action) && r.outcome == outcome && r.clinic == clinic && (actor == "" || r.actor == actor)
	})
}

// TestIdentityAudit walks the identity flows and checks each left its
// audit event, in the right chain, and that every chain verifies.
func TestIdentityAudit(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		alpha, beta := e.clinic("alpha"), e.clinic("beta")
		admin := e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		staff := e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
		root := e.user("root@eonpro.test", true, "", "")
		e.user("admin@beta.test", false, "beta", eonpro.RoleAdmin)

		tok := e.login("admin@alpha.test")
		for range 5 {
			e.do("POST", "/api/v1/auth/login", map[string]string{"email": "staff@alpha.test", "password": "wrong password!"})
		}
		e.do("PATCH", "/api/v1/clinic", map[string]string{"name": "Alpha Health"}, bearer(tok)...)
		e.do("PATCH", "/api/v1/clinic/members/"+staff.ID, map[string]string{"role": "billing"}, bearer(tok)...)
		key := e.do("POST", "/api/v1/api-keys", map[string]any{"name": "sync", "permissions": []string{"clinic:read"}}, bearer(tok)...)
		keyID, _ := key.Body["id"].(string)
		e.do("DELETE", "/api/v1/api-keys/"+keyID, nil, bearer(tok)...)
		if res := e.do("GET", "/api/v1/clinic", nil, with(bearer(tok), []string{"X-Clinic", "beta"})...); res.Status != 404 {
			t.Fatalf("cross-clinic: %d", res.Status)
		}
		rootTok := e.login("root@eonpro.test")
		if res := e.do("GET", "/api/v1/clinic", nil, with(bearer(rootTok), []string{"X-Clinic", "alpha"})...); res.Status != 200 {
			t.Fatalf("super admin: %d %s", res.Status, res.Raw)
		}
		e.do("POST", "/api/v1/auth/logout", nil, bearer(tok)...)

		rows := auditRows(t, e)
		for _, c := range []struct {
			action                 eonpro.AuditAction
			outcome, clinic, actor string
		}{
			{eonpro.ActionLogin, "success", "", admin.ID},
			{eonpro.ActionLoginFailed, "denied", "", staff.ID},
			{eonpro.ActionLocked, "denied", alpha.ID, staff.ID},
			{eonpro.ActionClinicSettingsChanged, "success", alpha.ID, admin.ID},
			{eonpro.ActionMemberRoleChanged, "success", alpha.ID, admin.ID},
			{eonpro.ActionAPIKeyCreated, "success", alpha.ID, admin.ID},
			{eonpro.ActionAPIKeyRevoked, "success", alpha.ID, admin.ID},
			{eonpro.ActionCrossClinic, "denied", beta.ID, admin.ID},
			{eonpro.ActionSuperAdminAccess, "success", alpha.ID, root.ID},
			{eonpro.ActionLogout, "success", "", admin.ID},
		} {
			if !has(rows, c.action, c.outcome, c.clinic, c.actor) {
				t.Errorf("no %s/%s event in chain %q by %s; have %v", c.action, c.outcome, c.clinic, c.actor, rows)
			}
		}
		// The lockout alerted alpha's admin; the cross-clinic attempt beta's.
		if m := e.lastMessage("admin@alpha.test"); m == nil {
			t.Error("alpha's admin was not alerted")
		}
		if m := e.lastMessage("admin@beta.test"); m == nil {
			t.Error("beta's admin was not alerted")
		}
		results, err := e.audit.VerifyAll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if !r.OK {
				t.Errorf("chain %q does not verify: %+v", r.ClinicID, r)
			}
		}
	})
}
