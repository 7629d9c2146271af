package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
)

// Page sizes and limits of the patient search.
const (
	patientDefaultLimit = 50
	patientMaxLimit     = 200
	// maxQueryWords is how many words q may have: each is checked on the
	// rows ($9 to $11) but the one the search may lead with.
	maxQueryWords = 3
	maxQueryLen   = 200
	// scanBatch is how many candidates a search reads at a time when it
	// checks them after decryption (a q word longer than prefixLetters).
	scanBatch = 200
	// idsPerDetail is how many ids fit one audit detail value (512 bytes).
	idsPerDetail = 13
)

// The conditions every search checks on its rows: $3 status, $4 to $7
// the exact blind indexes, $8 a tag, $9 to $11 the q words the search
// does not lead with, $12 the cursor (an id), $13 the limit. %[1]s is the
// patient id column of the table the search leads with, whose index gives
// the page in order; the index tables are probed by it too, so that rows
// the words rule out are dropped before their patient is read.
const (
	patientFilterPG = `
  AND p.status = $3
  AND ($4::text IS NULL OR p.email_index = $4)
  AND ($5::text IS NULL OR p.phone_index = $5)
  AND ($6::text IS NULL OR p.dob_index = $6)
  AND ($7::text IS NULL OR p.family_name_index = $7)
  AND ($8::text IS NULL OR EXISTS (SELECT 1 FROM patient_tags t
      WHERE t.clinic_id = $1 AND t.tag_index = $8 AND t.patient_id = %[1]s))
  AND ($9::text IS NULL OR EXISTS (SELECT 1 FROM patient_name_prefixes n
      WHERE n.clinic_id = $1 AND n.prefix_index = $9 AND n.patient_id = %[1]s))
  AND ($10::text IS NULL OR EXISTS (SELECT 1 FROM patient_name_prefixes n
      WHERE n.clinic_id = $1 AND n.prefix_index = $10 AND n.patient_id = %[1]s))
  AND ($11::text IS NULL OR EXISTS (SELECT 1 FROM patient_name_prefixes n
      WHERE n.clinic_id = $1 AND n.prefix_index = $11 AND n.patient_id = %[1]s))
  AND ($12::text IS NULL OR %[1]s < $12)
ORDER BY %[1]s DESC
LIMIT $13`
	patientFilterSQLite = `
  AND p.status = $3
  AND ($4 IS NULL OR p.email_index = $4)
  AND ($5 IS NULL OR p.phone_index = $5)
  AND ($6 IS NULL OR p.dob_index = $6)
  AND ($7 IS NULL OR p.family_name_index = $7)
  AND ($8 IS NULL OR EXISTS (SELECT 1 FROM patient_tags t
      WHERE t.clinic_id = $1 AND t.tag_index = $8 AND t.patient_id = %[1]s))
  AND ($9 IS NULL OR EXISTS (SELECT 1 FROM patient_name_prefixes n
      WHERE n.clinic_id = $1 AND n.prefix_index = $9 AND n.patient_id = %[1]s))
  AND ($10 IS NULL OR EXISTS (SELECT 1 FROM patient_name_prefixes n
      WHERE n.clinic_id = $1 AND n.prefix_index = $10 AND n.patient_id = %[1]s))
  AND ($11 IS NULL OR EXISTS (SELECT 1 FROM patient_name_prefixes n
      WHERE n.clinic_id = $1 AND n.prefix_index = $11 AND n.patient_id = %[1]s))
  AND ($12 IS NULL OR %[1]s < $12)
ORDER BY %[1]s DESC
LIMIT $13`
)

// searchPatients is the statement of a search that leads with the index
// of from's condition on $2; key is the patient id column of that index.
func searchPatients(name, from, key string) Stmt {
	return Stmt{Name: "search_patients_by_" + name,
		SQL:    "SELECT " + patientColumns + from + fmt.Sprintf(patientFilterPG, key),
		SQLite: "SELECT " + patientColumns + from + fmt.Sprintf(patientFilterSQLite, key)}
}

// The searches, by what leads them, most selective first. In the two
// that lead with an index table, CROSS JOIN keeps SQLite's planner (which
// has no statistics) from starting at the patients of a status and
// sorting them all; PostgreSQL plans it as any inner join.
var (
	searchPatientsByEmail = searchPatients("email", `
FROM patients p
WHERE p.clinic_id = $1
  AND p.email_index = $2`, "p.id")
	searchPatientsByPhone = searchPatients("phone", `
FROM patients p
WHERE p.clinic_id = $1
  AND p.phone_index = $2`, "p.id")
	searchPatientsByDOB = searchPatients("dob", `
FROM patients p
WHERE p.clinic_id = $1
  AND p.dob_index = $2`, "p.id")
	searchPatientsByFamilyName = searchPatients("family_name", `
FROM patients p
WHERE p.clinic_id = $1
  AND p.family_name_index = $2`, "p.id")
	searchPatientsByName = searchPatients("name_prefix", `
FROM patient_name_prefixes d
CROSS JOIN patients p
WHERE d.clinic_id = $1
  AND d.prefix_index = $2
  AND p.clinic_id = d.clinic_id
  AND p.id = d.patient_id`, "d.patient_id")
	searchPatientsByTag = searchPatients("tag", `
FROM patient_tags d
CROSS JOIN patients p
WHERE d.clinic_id = $1
  AND d.tag_index = $2
  AND p.clinic_id = d.clinic_id
  AND p.id = d.patient_id`, "d.patient_id")
	searchPatientsByStatus = searchPatients("status", `
FROM patients p
WHERE p.clinic_id = $1
  AND p.status = $2`, "p.id")
)

// patientSearch is a validated filter turned into blind indexes.
type patientSearch struct {
	status                         string
	email, phone, dob, family, tag *string
	words                          []string // indexes of the q words, longest word first
	long                           []string // q words to check on the decrypted names
	limit                          int
	cursor                         *string
	filters                        []string // names of the filters used, for the audit event
}

// newPatientSearch validates f and computes the blind indexes to look for.
func (s *PatientService) newPatientSearch(ctx context.Context, clinicID string, f eonpro.PatientFilter) (*patientSearch, error) {
	q := &patientSearch{status: eonpro.PatientActive, limit: patientDefaultLimit}
	fe := fieldErrors{}
	for _, ix := range []struct {
		field, bad string
		kind       phi.Kind
		in         *string
		out        **string
	}{
		{"email", "must be an e-mail address", phi.KindEmail, f.Email, &q.email},
		{"phone", "must be a phone number, like +15125550100", phi.KindPhone, f.Phone, &q.phone},
		{"dob", "must be a date like 1980-04-23", phi.KindDateOfBirth, f.DOB, &q.dob},
		{"family_name", "must contain a letter or digit", phi.KindLastName, f.FamilyName, &q.family},
		{"tag", "must contain a letter or digit", phi.KindTag, f.Tag, &q.tag},
	} {
		if ix.in == nil {
			continue
		}
		q.filters = append(q.filters, ix.field)
		var v string
		var err error
		if len(*ix.in) <= maxQueryLen {
			v, err = s.ring.BlindIndex(ctx, clinicID, ix.kind, *ix.in)
		}
		if eonpro.ErrorCode(err) == eonpro.EINVALID || (err == nil && v == "") {
			fe[ix.field] = ix.bad
		} else if err != nil {
			return nil, err
		}
		*ix.out = &v
	}
	if f.Q != nil {
		q.filters = append(q.filters, "q")
		if err := s.queryWords(ctx, clinicID, *f.Q, q, fe); err != nil {
			return nil, err
		}
	}
	q.checkPage(f, fe)
	return q, fe.err()
}

// queryWords sets the prefix indexes of the words of q, longest first.
func (s *PatientService) queryWords(ctx context.Context, clinicID, text string, q *patientSearch, fe fieldErrors) error {
	words := nameWords(text)
	slices.SortStableFunc(words, func(a, b string) int { return utf8.RuneCountInString(b) - utf8.RuneCountInString(a) })
	switch {
	case len(text) > maxQueryLen:
		fe["q"] = fmt.Sprintf("must be at most %d characters", maxQueryLen)
	case len(words) == 0:
		fe["q"] = "must contain a letter or digit"
	case len(words) > maxQueryWords:
		fe["q"] = fmt.Sprintf("must have at most %d words", maxQueryWords)
	}
	if fe["q"] != "" {
		return nil
	}
	for _, w := range words {
		pre, long := truncateWord(w)
		ix, err := s.ring.BlindIndex(ctx, clinicID, phi.KindNamePrefix, pre)
		if err != nil {
			return err
		}
		q.words = append(q.words, ix)
		if long {
			q.long = append(q.long, w)
		}
	}
	return nil
}

func (q *patientSearch) checkPage(f eonpro.PatientFilter, fe fieldErrors) {
	if f.Status != nil {
		q.filters = append(q.filters, "status")
		if q.status = *f.Status; q.status != eonpro.PatientActive && q.status != eonpro.PatientArchived {
			fe["status"] = "must be active or archived"
		}
	}
	if f.Limit != 0 {
		if q.limit = f.Limit; f.Limit < 1 || f.Limit > patientMaxLimit {
			fe["limit"] = fmt.Sprintf("must be 1 to %d", patientMaxLimit)
		}
	}
	if f.Cursor != "" {
		if _, err := uuid.Parse(f.Cursor); err != nil {
			fe["cursor"] = "is not a cursor from a previous page"
		}
		q.cursor = &f.Cursor
	}
}

// lead picks the statement and its $2, the most selective condition, and
// returns the q words left to check on the rows.
func (q *patientSearch) lead() (Stmt, string, []string) {
	switch {
	case q.email != nil:
		return searchPatientsByEmail, *q.email, q.words
	case q.phone != nil:
		return searchPatientsByPhone, *q.phone, q.words
	case q.dob != nil:
		return searchPatientsByDOB, *q.dob, q.words
	case q.family != nil:
		return searchPatientsByFamilyName, *q.family, q.words
	case len(q.words) > 0:
		return searchPatientsByName, q.words[0], q.words[1:]
	case q.tag != nil:
		return searchPatientsByTag, *q.tag, q.words
	}
	return searchPatientsByStatus, q.status, q.words
}

// args returns the arguments of a search led by lead, checking the q
// words words, for a page after cursor.
func (q *patientSearch) args(clinicID, lead string, words []string, cursor *string, limit int) []any {
	var check [maxQueryWords]*string
	for i, w := range words {
		check[i] = &w
	}
	return []any{clinicID, lead, q.status, q.email, q.phone, q.dob, q.family, q.tag, check[0], check[1], check[2], cursor, limit}
}

// FindPatients lists the patients of the clinic of the request that match f.
func (s *PatientService) FindPatients(ctx context.Context, f eonpro.PatientFilter) ([]*eonpro.Patient, string, error) {
	pr := eonpro.PrincipalFromContext(ctx)
	if !pr.Can(eonpro.PermPatientsRead) {
		return nil, "", eonpro.Errorf(eonpro.EFORBIDDEN, "You may not read patients.")
	}
	// Loaded before the transaction, which then decrypts from the cache.
	if err := s.ring.EnsureKeys(ctx, pr.ClinicID); err != nil {
		return nil, "", fmt.Errorf("find patients: %w", err)
	}
	q, err := s.newPatientSearch(ctx, pr.ClinicID, f)
	if err != nil {
		return nil, "", err
	}
	var out []*eonpro.Patient
	err = s.db.ViewClinic(ctx, pr.ClinicID, func(tx *Tx) (err error) {
		out, err = s.search(ctx, tx, q)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("find patients: %w", err)
	}
	out, next := cutPage(out, q.limit, func(p *eonpro.Patient) string { return p.ID })
	err = s.db.RecordAudit(ctx, eonpro.AuditEvent{ClinicID: pr.ClinicID, Action: eonpro.ActionPHISearch,
		ResourceType: "patient", Detail: searchDetail(q.filters, out)})
	if err != nil {
		return nil, "", fmt.Errorf("find patients: %w", err)
	}
	return out, next, nil
}

// search reads up to limit+1 matching patients, newest first. Words of q
// longer than the indexed prefixes are checked on the decrypted names, so
// it reads candidates in batches until it has enough or none are left.
func (s *PatientService) search(ctx context.Context, tx *Tx, q *patientSearch) ([]*eonpro.Patient, error) {
	stmt, lead, words := q.lead()
	batch := q.limit + 1
	if len(q.long) > 0 {
		batch = max(batch, scanBatch)
	}
	out := []*eonpro.Patient{}
	for cursor := q.cursor; ; {
		rows, err := queryAll(ctx, tx, stmt, scanPatient, q.args(tx.ClinicID(), lead, words, cursor, batch)...)
		if err != nil {
			return nil, err
		}
		for _, sp := range rows {
			opened := 0
			if len(q.long) > 0 {
				if err := s.open(ctx, tx.ClinicID(), sp, 0, nameFields); err != nil {
					return nil, err
				}
				if !namesStartWith(&sp.Patient, q.long) {
					continue
				}
				opened = nameFields
			}
			p, err := s.openPatient(ctx, tx.ClinicID(), sp, opened)
			if err != nil {
				return nil, err
			}
			if out = append(out, p); len(out) > q.limit {
				return out, nil
			}
		}
		if len(rows) < batch {
			return out, nil
		}
		cursor = &rows[len(rows)-1].ID
	}
}

// searchDetail is the audit detail of a search: the filters used (names,
// never values), how many patients it returned, and their ids.
func searchDetail(filters []string, ps []*eonpro.Patient) map[string]string {
	d := map[string]string{"count": strconv.Itoa(len(ps)), "filters": strings.Join(filters, ",")}
	for i := 0; i*idsPerDetail < len(ps); i++ {
		var ids []string
		for _, p := range ps[i*idsPerDetail : min(len(ps), (i+1)*idsPerDetail)] {
			ids = append(ids, p.ID)
		}
		key := "ids"
		if i > 0 {
			key = fmt.Sprintf("ids_%d", i+1)
		}
		d[key] = strings.Join(ids, ",")
	}
	return d
}
