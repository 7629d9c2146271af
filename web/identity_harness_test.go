package web

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/blob/local"
	"github.com/eonpro/eonpro/inmem"
	"github.com/eonpro/eonpro/phi"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// testPassword is every seeded user's password.
const testPassword = "correct horse battery staple"

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// idEnv is a full server on a real database with the identity services.
type idEnv struct {
	t      *testing.T
	db     *sqlstore.DB
	srv    *httptest.Server
	clock  *clock
	notify *sqlstore.OutboxNotifier
	// auth sends some messages after answering; Wait before reading them.
	auth *sqlstore.AuthService
	// client sends the requests of do; nil means the default client.
	client *http.Client
	log    *bytes.Buffer
	// clinics by slug, users by e-mail
	clinics map[string]*eonpro.Clinic
	users   map[string]*eonpro.User
	// audit is the audit service; patients its patient lookup.
	audit    *sqlstore.AuditService
	patients *patientMap
	// ring encrypts PHI with a fresh local master key; patientSvc is the
	// patient service on it.
	ring       *phi.KeyRing
	patientSvc *sqlstore.PatientService
	// blobDir is the local blob store of the document service.
	blobDir string
}

// eachEngine runs fn per engine with a fresh environment.
func eachEngine(t *testing.T, fn func(t *testing.T, e *idEnv)) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) { fn(t, newIDEnv(t, engine, Rates{})) })
	}
}

// newIDEnv builds the server; zero Rates means limits high enough not to
// interfere.
func newIDEnv(t *testing.T, engine sqlstore.Engine, rates Rates) *idEnv {
	t.Helper()
	return newIDEnvWith(t, engine, rates, envOptions{})
}

// envOptions change what newIDEnvWith builds.
type envOptions struct {
	// open opens the database (default sqltest.Open), for a test that
	// needs other options, such as an audit fallback file.
	open func(eonpro.Clock) *sqlstore.DB
	// wrap wraps the server's handler, for a test that watches requests
	// from the server's side.
	wrap func(http.Handler) http.Handler
}

func newIDEnvWith(t *testing.T, engine sqlstore.Engine, rates Rates, opts envOptions) *idEnv {
	t.Helper()
	c := &clock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	if opts.open == nil {
		opts.open = func(now eonpro.Clock) *sqlstore.DB { return sqltest.Open(t, engine, now) }
	}
	if opts.wrap == nil {
		opts.wrap = func(h http.Handler) http.Handler { return h }
	}
	db := opts.open(c.Now)
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil))
	notify := sqlstore.NewOutboxNotifier(db, log)
	auth, err := sqlstore.NewAuthService(db, notify, []byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	_, signing, _ := ed25519.GenerateKey(rand.Reader)
	master, err := phi.ParseLocalMaster(phi.GenerateLocalMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	ring := phi.NewKeyRing(sqlstore.NewPHIKeyStore(db, nil), master, phi.RingOptions{Clock: c.Now})
	patientSvc := sqlstore.NewPatientService(db, ring)
	blobDir := t.TempDir()
	blobs, err := local.Open(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	patients := &patientMap{ids: map[string]string{}, store: patientSvc}
	audit, err := sqlstore.NewAuditService(db, sqlstore.AuditOptions{Notifier: notify, Patients: patients,
		SigningKey: signing, CheckpointDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rates == (Rates{}) {
		big := eonpro.Rate{Count: 100000, Period: time.Minute}
		rates = Rates{Strict: big, Standard: big, Relaxed: big}
	}
	s := NewServer(Config{
		Logger: log, DBEngine: string(engine), PingDB: db.Ping,
		Auth: auth, Clinics: sqlstore.NewClinicService(db), Users: sqlstore.NewUserService(db, notify, auth),
		Limiter: inmem.NewRateLimiter(c.Now, 0), Rates: rates, BaseDomain: "eonpro.test",
		Audit:     audit,
		Patients:  patientSvc,
		Providers: sqlstore.NewProviderService(db),
		Documents: sqlstore.NewDocumentService(db, ring, blobs, testMaxUpload), MaxUploadBytes: testMaxUpload,
		Consents: sqlstore.NewConsentService(db, ring),
		Outbox:   notify.FindClinicMessages,
	})
	s.SetReady(true)
	srv := httptest.NewServer(opts.wrap(s))
	t.Cleanup(srv.Close)
	// Invitation and reset messages link to this server's pages.
	auth.Links = sqlstore.Links{PublicURL: srv.URL}
	t.Cleanup(auth.Wait) // before the database closes
	return &idEnv{t: t, db: db, srv: srv, clock: c, notify: notify, auth: auth, log: logs,
		clinics: map[string]*eonpro.Clinic{}, users: map[string]*eonpro.User{}, audit: audit, patients: patients,
		ring: ring, patientSvc: patientSvc, blobDir: blobDir}
}

// patientMap is the tests' patient lookup: ids set by a test, else the
// records of the patient store.
type patientMap struct {
	mu    sync.Mutex
	ids   map[string]string // clinic id + "/" + user id → patient id
	store eonpro.PatientLookup
}

func (p *patientMap) set(clinicID, userID, patientID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids[clinicID+"/"+userID] = patientID
}

func (p *patientMap) FindPatientIDByUser(ctx context.Context, clinicID, userID string) (string, error) {
	p.mu.Lock()
	id, ok := p.ids[clinicID+"/"+userID]
	p.mu.Unlock()
	if ok {
		return id, nil
	}
	return p.store.FindPatientIDByUser(ctx, clinicID, userID)
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// clinic creates a clinic as the system, with 2FA required of no role
// unless mfaRoles says otherwise.
func (e *idEnv) clinic(slug string, mfaRoles ...eonpro.Role) *eonpro.Clinic {
	e.t.Helper()
	ctx := context.Background()
	svc := sqlstore.NewClinicService(e.db)
	c, err := svc.CreateClinic(ctx, slug, strings.ToUpper(slug[:1])+slug[1:]+" Clinic")
	if err != nil {
		e.t.Fatal(err)
	}
	// The policy is written directly, as if the clinic had been created
	// with it, so that its audit chain starts empty for the tests.
	c.Settings.SecurityPolicy.MFARoles = append([]eonpro.Role{}, mfaRoles...)
	settings, _ := json.Marshal(c.Settings)
	err = e.db.InTx(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, setClinicSettings, c.ID, string(settings))
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.clinics[slug] = c
	return c
}

var setClinicSettings = sqlstore.Stmt{Name: "test_set_clinic_settings", SQL: `
UPDATE clinics SET settings = $2 WHERE id = $1`}

// user creates a user as the system, with a role in a clinic (slug) when
// given.
func (e *idEnv) user(email string, superAdmin bool, slug string, role eonpro.Role) *eonpro.User {
	e.t.Helper()
	ctx := context.Background()
	svc := sqlstore.NewUserService(e.db, e.notify, nil)
	u, err := svc.CreateUser(ctx, eonpro.NewUser{Email: email, Password: testPassword, Name: "Test " + string(role), SuperAdmin: superAdmin})
	if err != nil {
		e.t.Fatal(err)
	}
	if slug != "" {
		if err := svc.AddMembership(ctx, u.ID, e.clinics[slug].ID, role); err != nil {
			e.t.Fatal(err)
		}
	}
	e.users[email] = u
	return u
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// do sends a request; body is JSON-encoded unless it is a string. hdr is
// name, value pairs.
func (e *idEnv) do(method, path string, body any, hdr ...string) response {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	client := http.DefaultClient
	if e.client != nil {
		client = e.client
	}
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

// from returns e sending its requests from another loopback address, as
// a second client would (the server keys lockouts and limits by the peer).
func (e *idEnv) from(ip string) *idEnv {
	c := *e
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c.client = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	e.t.Cleanup(c.client.CloseIdleConnections)
	return &c
}

// login signs in with the test password and returns the bearer token;
// it fails the test unless a full session results.
func (e *idEnv) login(email string) string {
	e.t.Helper()
	res := e.do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": testPassword})
	tok, _ := res.Body["token"].(string)
	if res.Status != 200 || tok == "" {
		e.t.Fatalf("login %s: %d %s", email, res.Status, res.Raw)
	}
	return tok
}

// bearer returns the Authorization header pair for a token.
func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// with joins header pairs.
func with(pairs ...[]string) []string {
	var out []string
	for _, p := range pairs {
		out = append(out, p...)
	}
	return out
}

// errCode returns the error code of a response body.
func (r response) errCode() string {
	if e, ok := r.Body["error"].(map[string]any); ok {
		c, _ := e["code"].(string)
		return c
	}
	return ""
}

// field returns the message for a field error.
func (r response) field(name string) string {
	if e, ok := r.Body["error"].(map[string]any); ok {
		if f, ok := e["fields"].(map[string]any); ok {
			s, _ := f[name].(string)
			return s
		}
	}
	return ""
}

// lastMessage returns the newest outbox message to a recipient, once the
// messages sent after answering have gone out.
func (e *idEnv) lastMessage(to string) *eonpro.Message {
	e.t.Helper()
	e.auth.Wait()
	m, err := e.notify.LatestMessage(context.Background(), to)
	if err != nil {
		e.t.Fatalf("no message to %s: %v", to, err)
	}
	return m
}

// TestIdentitySmoke checks the harness: an admin signs in and reads the
// clinic.
func TestIdentitySmoke(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		tok := e.login("admin@alpha.test")
		res := e.do("GET", "/api/v1/clinic", nil, bearer(tok)...)
		if res.Status != 200 || res.Body["slug"] != "alpha" {
			t.Fatalf("GET /api/v1/clinic: %d %s", res.Status, res.Raw)
		}
	})
}
