package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/eonpro/eonpro"
)

// recentlyViewedMax is the most recently viewed patients one call lists;
// they are found among the actor's last recentViewsScanned views.
const (
	recentlyViewedMax  = 50
	recentViewsScanned = 1000
)

var (
	countPatientsByStatus = Stmt{Name: "count_patients_by_status", SQL: `
SELECT status, COUNT(*)
FROM patients
WHERE clinic_id = $1
GROUP BY status`}
	// countPatientsPerDay groups by the UTC day: PostgreSQL keeps
	// timestamptz, SQLite the fixed-width UTC text of sqliteTime.
	countPatientsPerDay = Stmt{Name: "count_patients_per_day", SQL: `
SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
    COUNT(*)
FROM patients
WHERE clinic_id = $1
  AND created_at >= $2
GROUP BY day`, SQLite: `
SELECT substr(created_at, 1, 10) AS day,
    COUNT(*)
FROM patients
WHERE clinic_id = $1
  AND created_at >= $2
GROUP BY day`}
	// selectRecentlyViewed reads the patients an actor viewed, latest
	// view first, from the actor's newest events on the audit trail's
	// actor index: a bounded read however long the actor's history. The
	// CROSS JOIN keeps SQLite from scanning the clinic's patients for the
	// few viewed ones.
	selectRecentlyViewed = Stmt{Name: "select_recently_viewed_patients", SQL: `
SELECT ` + patientColumns + `,
    v.viewed_at
FROM (
    SELECT patient_id,
        MAX(seq) AS last_seq,
        MAX(occurred_at) AS viewed_at
    FROM (
        SELECT patient_id, seq, occurred_at
        FROM audit_events
        WHERE clinic_id = $1
          AND actor_id = $2
          AND actor_type = 'user'
          AND action = 'phi.view'
          AND outcome = 'success'
          AND patient_id <> ''
        ORDER BY seq DESC
        LIMIT ` + fmt.Sprint(recentViewsScanned) + `
    ) recent
    GROUP BY patient_id
) v
CROSS JOIN patients p
WHERE p.clinic_id = $1
  AND p.id = v.patient_id
ORDER BY v.last_seq DESC
LIMIT $3`}
)

// countRow is a key and its count.
type countRow struct {
	key string
	n   int
}

func scanCount(row scanner) (countRow, error) {
	var c countRow
	err := row.Scan(&c.key, &c.n)
	return c, err
}

// PatientStats counts the clinic's patients and those added per day.
func (s *PatientService) PatientStats(ctx context.Context) (*eonpro.PatientStats, error) {
	pr := eonpro.PrincipalFromContext(ctx)
	if !pr.Can(eonpro.PermPatientsRead) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not read patients.")
	}
	today := s.now().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, 1-eonpro.StatsDays)
	var byStatus, perDay []countRow
	err := s.db.ViewClinic(ctx, pr.ClinicID, func(tx *Tx) (err error) {
		if byStatus, err = queryAll(ctx, tx, countPatientsByStatus, scanCount, pr.ClinicID); err != nil {
			return err
		}
		perDay, err = queryAll(ctx, tx, countPatientsPerDay, scanCount, pr.ClinicID, from)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("patient stats: %w", err)
	}
	st := &eonpro.PatientStats{}
	for _, c := range byStatus {
		st.Total += c.n
		if c.key == eonpro.PatientActive {
			st.Active = c.n
		}
	}
	days := map[string]int{}
	for _, c := range perDay {
		days[c.key] = c.n
	}
	for i := range eonpro.StatsDays {
		d := from.AddDate(0, 0, i)
		n := days[d.Format(time.DateOnly)]
		st.PerDay = append(st.PerDay, eonpro.DayCount{Day: d.Format(time.DateOnly), Count: n})
		st.AddedMonth += n
		if i >= eonpro.StatsDays-7 {
			st.AddedWeek += n
		}
	}
	return st, nil
}

// FindRecentlyViewedPatients lists the patients the principal viewed.
func (s *PatientService) FindRecentlyViewedPatients(ctx context.Context, limit int) ([]*eonpro.PatientView, error) {
	pr := eonpro.PrincipalFromContext(ctx)
	if !pr.Can(eonpro.PermPatientsRead) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not read patients.")
	}
	if limit < 1 || limit > recentlyViewedMax {
		return nil, eonpro.FieldError("limit", fmt.Sprintf("must be 1 to %d", recentlyViewedMax))
	}
	if err := s.ring.EnsureKeys(ctx, pr.ClinicID); err != nil {
		return nil, fmt.Errorf("find recently viewed patients: %w", err)
	}
	var out []*eonpro.PatientView
	err := s.db.ViewClinic(ctx, pr.ClinicID, func(tx *Tx) error {
		rows, err := queryAll(ctx, tx, selectRecentlyViewed, scanViewedPatient, pr.ClinicID, pr.UserID, limit)
		if err != nil {
			return err
		}
		for _, r := range rows {
			p, err := s.openPatient(ctx, pr.ClinicID, r.sp, 0)
			if err != nil {
				return err
			}
			out = append(out, &eonpro.PatientView{Patient: p, ViewedAt: r.at})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find recently viewed patients: %w", err)
	}
	ps := make([]*eonpro.Patient, len(out))
	for i, v := range out {
		ps[i] = v.Patient
	}
	err = s.db.RecordAudit(ctx, eonpro.AuditEvent{ClinicID: pr.ClinicID, Action: eonpro.ActionPHISearch,
		ResourceType: "patient", Detail: searchDetail([]string{"recently_viewed"}, ps)})
	if err != nil {
		return nil, fmt.Errorf("find recently viewed patients: %w", err)
	}
	return out, nil
}

// viewedRow is a stored patient and when the actor last viewed it.
type viewedRow struct {
	sp *storedPatient
	at time.Time
}

func scanViewedPatient(row scanner) (viewedRow, error) {
	var v viewedRow
	var err error
	v.sp, err = scanPatient(withColumns{row, []any{&v.at}})
	return v, err
}

// withColumns scans the columns of a row that follow those its caller
// names into extra.
type withColumns struct {
	row   scanner
	extra []any
}

func (w withColumns) Scan(dest ...any) error { return w.row.Scan(append(dest, w.extra...)...) }
