package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

// auditSeed records events straight into the store, as the services will.
type auditSeed struct {
	e     *idEnv
	alpha *eonpro.Clinic
	beta  *eonpro.Clinic
	admin string // alpha admin's token
	staff string // alpha staff's token
	prov  *eonpro.User
}

func seedAudit(t *testing.T, e *idEnv) *auditSeed {
	t.Helper()
	s := &auditSeed{e: e, alpha: e.clinic("alpha"), beta: e.clinic("beta")}
	e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
	e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
	s.prov = e.user("doc@alpha.test", false, "alpha", eonpro.RoleProvider)
	s.admin, s.staff = e.login("admin@alpha.test"), e.login("staff@alpha.test")
	return s
}

// record appends an event to c's chain at the current test time.
func (s *auditSeed) record(c *eonpro.Clinic, ev eonpro.AuditEvent) {
	s.e.t.Helper()
	ev.ClinicID = c.ID
	if ev.ActorType == "" {
		ev.ActorType = eonpro.ActorUser
	}
	if err := s.e.db.RecordAudit(context.Background(), ev); err != nil {
		s.e.t.Fatal(err)
	}
}

// auditList is the answer of GET /api/v1/audit and /me/access-log.
type auditList[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func auditGet[T any](t *testing.T, e *idEnv, path, tok string) (auditList[T], response) {
	t.Helper()
	res := e.do("GET", path, nil, bearer(tok)...)
	var out auditList[T]
	if res.Status == http.StatusOK {
		if err := json.Unmarshal(res.Raw, &out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, res.Raw)
		}
	}
	return out, res
}

func resourceIDs(evs []*eonpro.AuditEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.ResourceID)
	}
	return out
}

func TestAuditList(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		s := seedAudit(t, e)
		start := e.clock.Now()
		for i, ev := range []eonpro.AuditEvent{
			{ActorID: "u-1", Action: eonpro.ActionPHIView, ResourceID: "r1", PatientID: "p-1"},
			{ActorID: "u-2", Action: eonpro.ActionPHIView, ResourceID: "r2", PatientID: "p-2"},
			{ActorID: "u-1", Action: eonpro.ActionPHIUpdate, ResourceID: "r3", PatientID: "p-1"},
			{ActorID: "u-2", Action: eonpro.ActionMemberInvited, ResourceID: "r4"},
			{ActorID: "u-1", Action: eonpro.ActionPHIView, ResourceID: "r5", PatientID: "p-2"},
		} {
			e.clock.Add(time.Minute)
			s.record(s.alpha, ev)
			if i == 0 {
				s.record(s.beta, eonpro.AuditEvent{ActorID: "u-1", Action: eonpro.ActionPHIView, ResourceID: "beta"})
			}
		}
		at := func(min int) string {
			return url.QueryEscape(start.Add(time.Duration(min) * time.Minute).Format(time.RFC3339))
		}

		tests := []struct {
			name  string
			query string
			want  []string
		}{
			{"OK", "", []string{"r5", "r4", "r3", "r2", "r1"}},
			{"ActorID", "actor_id=u-1", []string{"r5", "r3", "r1"}},
			{"PatientID", "patient_id=p-2", []string{"r5", "r2"}},
			{"Action", "action=phi.view", []string{"r5", "r2", "r1"}},
			{"FromTo", "from=" + at(2) + "&to=" + at(4), []string{"r3", "r2"}},
			{"Combined", "actor_id=u-1&action=phi.view&patient_id=p-1", []string{"r1"}},
			{"None", "actor_id=nobody", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, res := auditGet[*eonpro.AuditEvent](t, e, "/api/v1/audit?"+tt.query, s.admin)
				if res.Status != http.StatusOK || got.NextCursor != nil || !slices.Equal(resourceIDs(got.Data), tt.want) {
					t.Errorf("%d next=%v %v, want %v", res.Status, got.NextCursor, resourceIDs(got.Data), tt.want)
				}
				if res.Status == http.StatusOK && got.Data == nil && !strings.Contains(string(res.Raw), `"data":[]`) {
					t.Errorf("empty list is not []: %s", res.Raw)
				}
			})
		}
		t.Run("Pages", func(t *testing.T) {
			var seen []string
			path := "/api/v1/audit?limit=2"
			for range 5 {
				got, res := auditGet[*eonpro.AuditEvent](t, e, path, s.admin)
				if res.Status != http.StatusOK {
					t.Fatalf("%d %s", res.Status, res.Raw)
				}
				seen = append(seen, resourceIDs(got.Data)...)
				if got.NextCursor == nil {
					break
				}
				path = "/api/v1/audit?limit=2&cursor=" + *got.NextCursor
			}
			if want := []string{"r5", "r4", "r3", "r2", "r1"}; !slices.Equal(seen, want) {
				t.Errorf("pages gave %v, want %v", seen, want)
			}
		})
		t.Run("Fields", func(t *testing.T) {
			got, _ := auditGet[*eonpro.AuditEvent](t, e, "/api/v1/audit?limit=1", s.admin)
			if len(got.Data) != 1 {
				t.Fatal("no event")
			}
			ev := got.Data[0]
			if ev.ClinicID != s.alpha.ID || ev.Seq != 5 || ev.Outcome != eonpro.OutcomeSuccess || len(ev.Hash) != 64 {
				t.Errorf("event: %+v", ev)
			}
			if h, err := ev.ComputeHash(); err != nil || h != ev.Hash {
				t.Errorf("the JSON event does not hash to its hash: %s %v", h, err)
			}
		})
		for _, tt := range []struct{ name, query, field string }{
			{"ErrLimitHigh", "limit=201", "limit"},
			{"ErrLimitZero", "limit=0", "limit"},
			{"ErrLimitText", "limit=ten", "limit"},
			{"ErrAction", "action=phi.peek", "action"},
			{"ErrFrom", "from=yesterday", "from"},
			{"ErrTo", "to=2026-13-01T00:00:00Z", "to"},
			{"ErrToBeforeFrom", "from=" + at(3) + "&to=" + at(1), "to"},
			{"ErrCursor", "cursor=abc", "cursor"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				res := e.do("GET", "/api/v1/audit?"+tt.query, nil, bearer(s.admin)...)
				if res.Status != http.StatusUnprocessableEntity || res.field(tt.field) == "" {
					t.Errorf("%d %s, want 422 naming %s", res.Status, res.Raw, tt.field)
				}
			})
		}
		t.Run("ErrStaff", func(t *testing.T) {
			for _, path := range []string{"/api/v1/audit", "/api/v1/audit/verify", "/api/v1/audit/export"} {
				if res := e.do("GET", path, nil, bearer(s.staff)...); res.Status != http.StatusForbidden {
					t.Errorf("staff GET %s: %d %s", path, res.Status, res.Raw)
				}
			}
		})
	})
}

func TestAuditVerifyEndpoint(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		s := seedAudit(t, e)
		for range 3 {
			s.record(s.alpha, eonpro.AuditEvent{Action: eonpro.ActionPHIView})
		}
		var got eonpro.VerifyResult
		res := e.do("GET", "/api/v1/audit/verify", nil, bearer(s.admin)...)
		if err := json.Unmarshal(res.Raw, &got); err != nil || res.Status != http.StatusOK || !got.OK || got.Count != 3 ||
			got.ClinicID != s.alpha.ID || got.FirstBad != nil {
			t.Fatalf("intact: %d %s", res.Status, res.Raw)
		}

		t.Run("ErrModified", func(t *testing.T) {
			evs, _, err := e.audit.FindAuditEvents(eonpro.NewContextWithPrincipal(context.Background(), &eonpro.Principal{
				ClinicID: s.alpha.ID, Permissions: []eonpro.Permission{eonpro.PermAuditRead}}), eonpro.AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			tamper := []sqlstore.Stmt{
				{Name: "test_drop_trigger", SQL: `DROP TRIGGER audit_events_no_change ON audit_events`, SQLite: `DROP TRIGGER audit_events_no_update`},
				{Name: "test_modify", SQL: `UPDATE audit_events SET actor_id = 'someone' WHERE id = $1`},
			}
			for i, st := range tamper {
				if err := e.db.InTx(context.Background(), func(tx *sqlstore.Tx) error {
					args := []any{evs[1].ID}
					_, err := tx.Exec(context.Background(), st, args[:i]...)
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			var got eonpro.VerifyResult
			res := e.do("GET", "/api/v1/audit/verify", nil, bearer(s.admin)...)
			if err := json.Unmarshal(res.Raw, &got); err != nil || res.Status != http.StatusOK || got.OK ||
				got.FirstBad == nil || *got.FirstBad != evs[1].ID || got.FirstBadSeq != 2 {
				t.Errorf("modified: %d %s, want the first bad event %s", res.Status, res.Raw, evs[1].ID)
			}
			if m := e.lastMessage("admin@alpha.test"); !strings.Contains(m.Subject, "audit verification failed") {
				t.Errorf("no alert: %+v", m)
			}
		})
	})
}

func TestAuditExport(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		s := seedAudit(t, e)
		start := e.clock.Now()
		for i := range 3 {
			e.clock.Add(time.Minute)
			s.record(s.alpha, eonpro.AuditEvent{Action: eonpro.ActionPHIView, ResourceID: "r" + string(rune('1'+i)),
				UserAgent: "=HYPERLINK(\"http://evil.test\")", Detail: map[string]string{"n": "1"}})
		}
		s.record(s.beta, eonpro.AuditEvent{Action: eonpro.ActionPHIView, ResourceID: "beta"})
		e.clock.Add(time.Minute)

		t.Run("JSON", func(t *testing.T) {
			res := e.do("GET", "/api/v1/audit/export?format=json", nil, bearer(s.admin)...)
			var evs []*eonpro.AuditEvent
			if err := json.Unmarshal(res.Raw, &evs); err != nil || res.Status != http.StatusOK {
				t.Fatalf("%d %v %s", res.Status, err, res.Raw)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") ||
				!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
				t.Errorf("headers: %v", res.Header)
			}
			// Oldest first; the export's own audit.exported event comes last.
			if got := resourceIDs(evs); !slices.Equal(got, []string{"r1", "r2", "r3", ""}) || evs[3].Action != eonpro.ActionAuditExported {
				t.Errorf("exported %v", got)
			}
			prev := eonpro.GenesisHash
			for _, ev := range evs {
				h, err := ev.ComputeHash()
				if err != nil || h != ev.Hash || ev.PrevHash != prev {
					t.Errorf("event %d does not verify from the export", ev.Seq)
				}
				prev = ev.Hash
			}
		})
		t.Run("CSVFromTo", func(t *testing.T) {
			from := url.QueryEscape(start.Add(90 * time.Second).Format(time.RFC3339))
			to := url.QueryEscape(start.Add(3 * time.Minute).Format(time.RFC3339))
			res := e.do("GET", "/api/v1/audit/export?format=csv&from="+from+"&to="+to, nil, bearer(s.admin)...)
			if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("%d %v %s", res.Status, res.Header, res.Raw)
			}
			rows, err := csv.NewReader(strings.NewReader(string(res.Raw))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[0][0] != "id" || rows[0][13] != "user_agent" {
				t.Fatalf("rows: %q", rows)
			}
			if got := rows[1]; got[9] != "r2" || got[13] != `'=HYPERLINK("http://evil.test")` || got[16] != `{"n":"1"}` {
				t.Errorf("row: %q", got)
			}
		})
		t.Run("ExportIsAudited", func(t *testing.T) {
			got, _ := auditGet[*eonpro.AuditEvent](t, e, "/api/v1/audit?action=audit.exported", s.admin)
			if len(got.Data) != 2 {
				t.Fatalf("%d audit.exported events, want 2", len(got.Data))
			}
			ev := got.Data[0]
			if ev.Detail["format"] != "csv" || ev.Detail["from"] == "" || ev.ActorType != eonpro.ActorUser ||
				ev.ActorID != e.users["admin@alpha.test"].ID || ev.IP == "" || ev.RequestID == "" || ev.SessionID == "" {
				t.Errorf("audit.exported event: %+v", ev)
			}
		})
		for _, tt := range []struct{ name, query, field string }{
			{"ErrFormat", "format=xml", "format"},
			{"ErrFrom", "from=soon", "from"},
			{"ErrPaged", "limit=5", "limit"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				res := e.do("GET", "/api/v1/audit/export?"+tt.query, nil, bearer(s.admin)...)
				if res.Status != http.StatusUnprocessableEntity || res.field(tt.field) == "" {
					t.Errorf("%d %s, want 422 naming %s", res.Status, res.Raw, tt.field)
				}
			})
		}
	})
}

func TestAuditAccessLog(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		s := seedAudit(t, e)
		pat := e.user("pat@alpha.test", false, "alpha", eonpro.RolePatient)
		tok := e.login("pat@alpha.test")

		t.Run("EmptyWithoutPatientRecord", func(t *testing.T) {
			got, res := auditGet[*eonpro.AccessLogEntry](t, e, "/api/v1/me/access-log", tok)
			if res.Status != http.StatusOK || len(got.Data) != 0 || !strings.Contains(string(res.Raw), `"data":[]`) {
				t.Errorf("%d %s, want an empty list until the patient has a record", res.Status, res.Raw)
			}
		})
		e.patients.set(s.alpha.ID, pat.ID, "patient-1")
		doc := eonpro.AuditEvent{ActorID: s.prov.ID, ActorRole: "provider", PatientID: "patient-1"}
		for _, a := range []eonpro.AuditAction{eonpro.ActionPHIView, eonpro.ActionPHIUpdate, eonpro.ActionPHIPrint} {
			ev := doc
			ev.Action = a
			s.record(s.alpha, ev)
		}
		other := doc
		other.Action, other.PatientID = eonpro.ActionPHIView, "patient-2"
		s.record(s.alpha, other)
		denied := doc
		denied.Action, denied.Outcome = eonpro.ActionPHIView, eonpro.OutcomeDenied
		s.record(s.alpha, denied)

		t.Run("OK", func(t *testing.T) {
			got, res := auditGet[*eonpro.AccessLogEntry](t, e, "/api/v1/me/access-log", tok)
			if res.Status != http.StatusOK || len(got.Data) != 3 || got.NextCursor != nil {
				t.Fatalf("%d %s", res.Status, res.Raw)
			}
			want := []eonpro.AuditAction{eonpro.ActionPHIPrint, eonpro.ActionPHIUpdate, eonpro.ActionPHIView}
			for i, entry := range got.Data {
				if entry.Action != want[i] || entry.ActorID != s.prov.ID || entry.ActorName != s.prov.Name || entry.ActorRole != "provider" {
					t.Errorf("entry %d: %+v", i, entry)
				}
			}
		})
		t.Run("Pages", func(t *testing.T) {
			got, _ := auditGet[*eonpro.AccessLogEntry](t, e, "/api/v1/me/access-log?limit=1", tok)
			if len(got.Data) != 1 || got.NextCursor == nil {
				t.Fatalf("first page: %+v", got)
			}
			next, _ := auditGet[*eonpro.AccessLogEntry](t, e, "/api/v1/me/access-log?limit=1&cursor="+*got.NextCursor, tok)
			if len(next.Data) != 1 || next.Data[0].Action != eonpro.ActionPHIUpdate || next.NextCursor == nil {
				t.Errorf("second page: %+v", next)
			}
		})
		t.Run("ErrStaff", func(t *testing.T) {
			if res := e.do("GET", "/api/v1/me/access-log", nil, bearer(s.staff)...); res.Status != http.StatusForbidden {
				t.Errorf("staff: %d %s", res.Status, res.Raw)
			}
		})
	})
}
