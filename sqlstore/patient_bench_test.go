package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var (
	benchGiven = []string{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
		"Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles",
		"Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Margaret", "Mark", "Sandra",
		"Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle", "José",
		"María", "Zoë", "Nguyễn", "Wei", "Aisha", "Omar", "Priya", "Kenji", "Olga"}
	benchFamily = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
		"Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
		"Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
		"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams",
		"Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Muñoz", "O'Brien",
		"Smith-Jones", "Kowalski", "Papadopoulos", "Okafor", "Tanaka", "Ivanova", "Schmidt", "Rossi"}
	benchTags = []string{"vip", "weight-loss", "hrt", "diabetes", "follow-up"}
)

// benchPatient is the i'th generated patient: unique e-mail and phone,
// names and dates of birth drawn with repeats, as in a real clinic.
func benchPatient(r *rand.Rand, i int) eonpro.NewPatient {
	given, family := benchGiven[r.IntN(len(benchGiven))], benchFamily[r.IntN(len(benchFamily))]
	dob := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(80*365))
	return eonpro.NewPatient{GivenName: given, FamilyName: family, DateOfBirth: dob.Format(time.DateOnly),
		Email: fmt.Sprintf("patient%d@example.test", i), Phone: fmt.Sprintf("+1512%07d", i),
		Address: eonpro.Address{Line1: strconv.Itoa(i) + " Main St", City: "Austin", State: "TX", PostalCode: "78701"},
		Tags:    []string{benchTags[r.IntN(len(benchTags))]}}
}

// BenchmarkPatientSearch measures each kind of search in one clinic of
// EONPRO_BENCH_PATIENTS patients, through the service (so with the
// phi.search audit event each search writes), and reports the median
// and 95th percentile per kind:
//
//	EONPRO_BENCH_PATIENTS=100000 go test ./sqlstore -run '^$' -bench PatientSearch -benchtime 200x -timeout 30m
func BenchmarkPatientSearch(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("EONPRO_BENCH_PATIENTS"))
	if testing.Short() || n <= 0 {
		b.Skip("set EONPRO_BENCH_PATIENTS to the number of patients to seed")
	}
	for _, engine := range sqltest.Engines(b) {
		b.Run(string(engine), func(b *testing.B) {
			svc, ctx := seedBench(b, engine, n)
			r := rand.New(rand.NewPCG(2, 2))
			for _, kind := range []struct {
				name   string
				filter func() eonpro.PatientFilter
			}{
				{"list_page", func() eonpro.PatientFilter { return eonpro.PatientFilter{} }},
				{"q_prefix_1", func() eonpro.PatientFilter { return eonpro.PatientFilter{Q: ptr(randomPrefix(r, 1))} }},
				{"q_prefix_3", func() eonpro.PatientFilter { return eonpro.PatientFilter{Q: ptr(randomPrefix(r, 3))} }},
				{"q_whole_name", func() eonpro.PatientFilter {
					return eonpro.PatientFilter{Q: ptr(benchFamily[r.IntN(len(benchFamily))])}
				}},
				{"q_two_words", func() eonpro.PatientFilter {
					return eonpro.PatientFilter{Q: ptr(benchGiven[r.IntN(len(benchGiven))][:2] + " " + randomPrefix(r, 3))}
				}},
				{"email", func() eonpro.PatientFilter {
					return eonpro.PatientFilter{Email: ptr(fmt.Sprintf("patient%d@example.test", r.IntN(n)))}
				}},
				{"phone", func() eonpro.PatientFilter {
					return eonpro.PatientFilter{Phone: ptr(fmt.Sprintf("+1512%07d", r.IntN(n)))}
				}},
				{"dob", func() eonpro.PatientFilter {
					d := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(80*365))
					return eonpro.PatientFilter{DOB: ptr(d.Format(time.DateOnly))}
				}},
				{"family_name", func() eonpro.PatientFilter {
					return eonpro.PatientFilter{FamilyName: ptr(benchFamily[r.IntN(len(benchFamily))])}
				}},
				{"tag", func() eonpro.PatientFilter { return eonpro.PatientFilter{Tag: ptr(benchTags[r.IntN(len(benchTags))])} }},
			} {
				b.Run(kind.name, func(b *testing.B) {
					benchPercentiles(b, func() error {
						_, _, err := svc.FindPatients(ctx, kind.filter())
						return err
					})
				})
			}
			// The dashboard's queries at the same size: the counts and
			// the per-day chart, and the patients this staff member
			// viewed last (after viewing a thousand).
			b.Run("dashboard_stats", func(b *testing.B) {
				benchPercentiles(b, func() error { _, err := svc.PatientStats(ctx); return err })
			})
			page, _, err := svc.FindPatients(ctx, eonpro.PatientFilter{Limit: 100})
			if err != nil {
				b.Fatal(err)
			}
			for i := range 1000 {
				if _, err := svc.FindPatientByID(ctx, page[i%len(page)].ID); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("recently_viewed", func(b *testing.B) {
				benchPercentiles(b, func() error { _, err := svc.FindRecentlyViewedPatients(ctx, 5); return err })
			})
		})
	}
}

// benchPercentiles runs fn once per iteration and reports the median and
// 95th percentile of its time in milliseconds.
func benchPercentiles(b *testing.B, fn func() error) {
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	ms := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.95), "p95-ms")
}

func randomPrefix(r *rand.Rand, letters int) string {
	w := []rune(benchFamily[r.IntN(len(benchFamily))])
	return string(w[:min(letters, len(w))])
}

// seedBench makes a database with one clinic of n patients and returns
// the patient service and a staff member's context in the clinic.
func seedBench(b *testing.B, engine sqlstore.Engine, n int) (*sqlstore.PatientService, context.Context) {
	b.Helper()
	ctx := context.Background()
	// The patients were added over three years, a batch at a time, as a
	// clinic's are: the clock moves with the batches and stops at now.
	now, span := time.Now().UTC(), 3*365*24*time.Hour
	var clock atomic.Int64
	clock.Store(now.Add(-span).UnixNano())
	db := sqltest.Open(b, engine, func() time.Time { return time.Unix(0, clock.Load()).UTC() })
	c, err := sqlstore.NewClinicService(db).CreateClinic(ctx, "bench", "Bench Clinic")
	if err != nil {
		b.Fatal(err)
	}
	master, err := phi.ParseLocalMaster(phi.GenerateLocalMasterKey())
	if err != nil {
		b.Fatal(err)
	}
	svc := sqlstore.NewPatientService(db, phi.NewKeyRing(sqlstore.NewPHIKeyStore(db, nil), master, phi.RingOptions{}))
	r := rand.New(rand.NewPCG(1, 1))
	in := make([]eonpro.NewPatient, n)
	for i := range in {
		in[i] = benchPatient(r, i)
	}
	start := time.Now()
	const batch = 2000
	for lo := 0; lo < n; lo += batch {
		clock.Store(now.Add(-span + span/time.Duration(n)*time.Duration(lo)).UnixNano())
		if err := svc.SeedPatients(ctx, c.ID, in[lo:min(lo+batch, n)], batch); err != nil {
			b.Fatal(err)
		}
	}
	clock.Store(now.UnixNano())
	b.Logf("%s: seeded %d patients in %s", engine, n, time.Since(start).Round(time.Second))
	if engine == sqlstore.Postgres {
		// As autovacuum does soon after a bulk load: without statistics
		// the planner takes the fresh tables for empty.
		if _, err := db.Pool().Exec(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	return svc, actingAs(c.ID, eonpro.RoleStaff)
}
