package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/blob/local"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// docEnv is a phiEnv with a local blob store, the document and consent
// services, and a patient in each clinic.
type docEnv struct {
	*phiEnv
	blobDir  string
	blobs    eonpro.BlobStore
	docs     *sqlstore.DocumentService
	consents *sqlstore.ConsentService
	// adminA and adminB act as admins of clinics A and B.
	adminA, adminB     context.Context
	patientA, patientB string
}

func newDocEnv(t *testing.T, db *sqlstore.DB) *docEnv {
	t.Helper()
	return newDocEnvOn(t, newPHIEnv(t, db), 1<<20)
}

func newDocEnvOn(t *testing.T, pe *phiEnv, maxBytes int64) *docEnv {
	t.Helper()
	dir := t.TempDir()
	blobs, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	e := &docEnv{phiEnv: pe, blobDir: dir, blobs: blobs,
		docs:     sqlstore.NewDocumentService(pe.db, pe.ring, blobs, maxBytes),
		consents: sqlstore.NewConsentService(pe.db, pe.ring),
		adminA:   actingAs(phiClinicA, eonpro.RoleAdmin), adminB: actingAs(phiClinicB, eonpro.RoleAdmin)}
	e.patientA, e.patientB = createPatient(t, pe, e.adminA), createPatient(t, pe, e.adminB)
	return e
}

// actingAs is the context of a request by a new user with role in clinicID.
func actingAs(clinicID string, role eonpro.Role) context.Context {
	return eonpro.NewContextWithPrincipal(context.Background(), &eonpro.Principal{UserID: eonpro.NewID(),
		ClinicID: clinicID, Role: role, Permissions: eonpro.RolePermissions[role]})
}

// createPatient creates a patient through the patient service.
func createPatient(t *testing.T, pe *phiEnv, ctx context.Context) string {
	t.Helper()
	p, err := sqlstore.NewPatientService(pe.db, pe.ring).CreatePatient(ctx, eonpro.NewPatient{GivenName: "Ada",
		FamilyName: "Lovelace", DateOfBirth: "1980-04-23", Address: eonpro.Address{State: "TX"}})
	if err != nil {
		t.Fatalf("create patient: %v", err)
	}
	return p.ID
}

// documentCanary uploads a text document whose name and content are the
// canary, into the blob directory the canary test scans.
func documentCanary(t *testing.T, e *canaryEnv, canary string) []string {
	t.Helper()
	blobs, err := local.Open(e.blobDir)
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	ctx := actingAs(phiClinicA, eonpro.RoleAdmin)
	d, err := sqlstore.NewDocumentService(e.db, e.ring, blobs, 0).CreateDocument(ctx, createPatient(t, e.phiEnv, ctx),
		eonpro.NewDocument{Kind: eonpro.DocumentLabResult, Filename: canary + ".txt", Content: []byte("Result: " + canary + "\n")})
	if err != nil {
		t.Fatal(err)
	}
	return []string{canary, d.SHA256}
}

// pdf is a small PDF holding text.
func pdf(text string) []byte {
	return []byte("%PDF-1.7\n1 0 obj << /Title (" + text + ") >> endobj\n%%EOF\n")
}

func (e *docEnv) upload(t *testing.T, ctx context.Context, patientID, name string, content []byte) *eonpro.Document {
	t.Helper()
	d, err := e.docs.CreateDocument(ctx, patientID, eonpro.NewDocument{Kind: eonpro.DocumentLabResult,
		Filename: name, ContentType: "application/pdf", Content: content})
	if err != nil {
		t.Fatalf("CreateDocument: %v", err)
	}
	return d
}

var selectAuditTrail = sqlstore.Stmt{Name: "test_select_audit_trail", SQL: `
SELECT action || ' ' || resource_type || ' ' || resource_id || ' ' || patient_id
FROM audit_events
WHERE clinic_id = $1
  AND action LIKE 'phi.%'
  AND resource_type IN ('document', 'document_list', 'consent', 'consent_list')
ORDER BY seq`}

// trail lists the clinic's PHI events about documents and consents as
// "action resource_type resource_id patient_id".
func trail(t *testing.T, db *sqlstore.DB, clinicID string) []string {
	t.Helper()
	var out []string
	err := db.ViewClinic(context.Background(), clinicID, func(tx *sqlstore.Tx) error {
		rows, err := tx.Query(context.Background(), selectAuditTrail, clinicID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// blobFiles returns the content of every file under dir, by path.
func blobFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		out[path], err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDocuments(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newDocEnv(t, db)
		for name, fn := range map[string]func(*testing.T, *docEnv){
			"RoundTrip":        testDocumentRoundTrip,
			"StoredEncrypted":  testDocumentStoredEncrypted,
			"ErrOtherClinic":   testDocumentOtherClinic,
			"ErrForbidden":     testDocumentForbidden,
			"ErrContent":       testDocumentContentRules,
			"Archive":          testDocumentArchive,
			"Pages":            testDocumentPages,
			"ErrBlobFails":     testDocumentBlobFails,
			"ErrKeysDestroyed": testDocumentKeysDestroyed,
		} {
			t.Run(name, func(t *testing.T) { fn(t, e) })
		}
	})
}

func testDocumentRoundTrip(t *testing.T, e *docEnv) {
	content := pdf("potassium 4.1")
	d, err := e.docs.CreateDocument(e.adminA, e.patientA, eonpro.NewDocument{Kind: eonpro.DocumentLabResult,
		Filename: "  Résultats — März.pdf ", Content: content})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	want := eonpro.Document{ID: d.ID, PatientID: e.patientA, Kind: eonpro.DocumentLabResult, Filename: "Résultats — März.pdf",
		ContentType: eonpro.ContentTypePDF, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]),
		Status: eonpro.DocumentActive, UploadedBy: eonpro.PrincipalFromContext(e.adminA).UserID,
		CreatedAt: d.CreatedAt, UpdatedAt: d.CreatedAt}
	if diff := cmp.Diff(&want, d); diff != "" {
		t.Errorf("CreateDocument mismatch (-want +got):\n%s", diff)
	}
	got, body, err := e.docs.FindDocumentContent(e.adminA, d.ID)
	if err != nil || !bytes.Equal(body, content) {
		t.Fatalf("FindDocumentContent = %q, %v", body, err)
	}
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("FindDocumentContent mismatch (-want +got):\n%s", diff)
	}
	list, next, err := e.docs.FindDocuments(e.adminA, eonpro.DocumentFilter{PatientID: e.patientA})
	if err != nil || next != "" || len(list) == 0 {
		t.Fatalf("FindDocuments = %v, %q, %v", list, next, err)
	}
	if diff := cmp.Diff(d, list[0]); diff != "" {
		t.Errorf("FindDocuments mismatch (-want +got):\n%s", diff)
	}
	events := trail(t, e.db, phiClinicA)
	for _, ev := range []string{"phi.create document " + d.ID, "phi.view document " + d.ID, "phi.view document_list "} {
		if !slices.Contains(events, ev+" "+e.patientA) {
			t.Errorf("no %q event with the patient in %q", ev, events)
		}
	}
}

// testDocumentStoredEncrypted: neither the blob nor the row holds the
// content, the file name or the hash in the clear.
func testDocumentStoredEncrypted(t *testing.T, e *docEnv) {
	secret := "HIV-1 RNA detected " + eonpro.NewID()
	content := pdf(secret)
	d := e.upload(t, e.adminA, e.patientA, "viral-load-"+secret+".pdf", content)
	found := false
	for path, b := range blobFiles(t, e.blobDir) {
		if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte("%PDF")) {
			t.Errorf("blob %s holds plaintext", path)
		}
		if !bytes.HasPrefix(b, []byte("v1:")) {
			t.Errorf("blob %s does not start with the ciphertext format", path)
		}
		found = found || len(b) == len("v1:1:")+12+len(content)+16
	}
	if !found {
		t.Error("no blob of the sealed size")
	}
	var name, sum string
	err := e.db.ViewClinic(context.Background(), phiClinicA, func(tx *sqlstore.Tx) error {
		return tx.QueryRow(context.Background(), selectDocumentSecrets, phiClinicA, d.ID).Scan(&name, &sum)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, "v1:") || strings.Contains(name, secret) || !strings.HasPrefix(sum, "v1:") || sum == d.SHA256 {
		t.Errorf("stored filename %q and sha256 %q are not ciphertext", name, sum)
	}
}

var selectDocumentSecrets = sqlstore.Stmt{Name: "test_select_document_secrets", SQL: `
SELECT filename, sha256 FROM patient_documents WHERE clinic_id = $1 AND id = $2`}

// testDocumentOtherClinic: clinic B sees clinic A's patient and document
// exactly as missing ones.
func testDocumentOtherClinic(t *testing.T, e *docEnv) {
	d := e.upload(t, e.adminA, e.patientA, "a.pdf", pdf("a"))
	missing := eonpro.NewID()
	same := func(what string, other, gone error) {
		t.Helper()
		if eonpro.ErrorCode(other) != eonpro.ENOTFOUND || eonpro.ErrorMessage(other) != eonpro.ErrorMessage(gone) ||
			eonpro.ErrorCode(gone) != eonpro.ENOTFOUND {
			t.Errorf("%s: other clinic's %v, missing %v; want the same ENOTFOUND", what, other, gone)
		}
	}
	_, _, err1 := e.docs.FindDocumentContent(e.adminB, d.ID)
	_, _, err2 := e.docs.FindDocumentContent(e.adminB, missing)
	same("FindDocumentContent", err1, err2)
	same("ArchiveDocument", e.docs.ArchiveDocument(e.adminB, d.ID), e.docs.ArchiveDocument(e.adminB, missing))
	_, _, err1 = e.docs.FindDocuments(e.adminB, eonpro.DocumentFilter{PatientID: e.patientA})
	_, _, err2 = e.docs.FindDocuments(e.adminB, eonpro.DocumentFilter{PatientID: missing})
	same("FindDocuments", err1, err2)
	nd := eonpro.NewDocument{Kind: eonpro.DocumentOther, Filename: "b.pdf", Content: pdf("b")}
	_, err1 = e.docs.CreateDocument(e.adminB, e.patientA, nd)
	_, err2 = e.docs.CreateDocument(e.adminB, missing, nd)
	same("CreateDocument", err1, err2)
	if _, body, err := e.docs.FindDocumentContent(e.adminA, d.ID); err != nil || len(body) == 0 {
		t.Errorf("clinic A's document after B's attempts: %v", err)
	}
}

func testDocumentForbidden(t *testing.T, e *docEnv) {
	d := e.upload(t, e.adminA, e.patientA, "a.pdf", pdf("a"))
	billing, patient := actingAs(phiClinicA, eonpro.RoleBilling), actingAs(phiClinicA, eonpro.RolePatient)
	nd := eonpro.NewDocument{Kind: eonpro.DocumentOther, Filename: "b.pdf", Content: pdf("b")}
	_, createErr := e.docs.CreateDocument(billing, e.patientA, nd)
	_, _, listErr := e.docs.FindDocuments(patient, eonpro.DocumentFilter{PatientID: e.patientA})
	_, _, contentErr := e.docs.FindDocumentContent(patient, d.ID)
	// A patient reads only their own record's documents (patient_records_test.go).
	if eonpro.ErrorCode(listErr) != eonpro.ENOTFOUND || eonpro.ErrorCode(contentErr) != eonpro.ENOTFOUND {
		t.Errorf("another's documents as patient: %v, %v; want ENOTFOUND", listErr, contentErr)
	}
	for name, err := range map[string]error{"create as billing": createErr,
		"archive as billing": e.docs.ArchiveDocument(billing, d.ID),
		"no principal":       e.docs.ArchiveDocument(context.Background(), d.ID)} {
		if eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
			t.Errorf("%s: %v, want EFORBIDDEN", name, err)
		}
	}
	if _, body, err := e.docs.FindDocumentContent(billing, d.ID); err != nil || len(body) == 0 {
		t.Errorf("billing (patients:read) reads content: %v", err)
	}
}

// testDocumentContentRules: size, allow-list, declared type, kind, name.
func testDocumentContentRules(t *testing.T, e *docEnv) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01")
	for _, tt := range []struct {
		name  string
		nd    eonpro.NewDocument
		code  string
		field string
	}{
		{"ErrTooLarge", eonpro.NewDocument{Content: append(pdf(""), make([]byte, 1<<20)...)}, eonpro.ETOOLARGE, "file"},
		{"ErrEmpty", eonpro.NewDocument{Content: nil}, eonpro.EINVALID, "file"},
		{"ErrHTML", eonpro.NewDocument{Content: []byte("<html><script>alert(1)</script>")}, eonpro.EINVALID, "file"},
		{"ErrHTMLDeclaredText", eonpro.NewDocument{Content: []byte("<html>"), ContentType: "text/plain"}, eonpro.EINVALID, "file"},
		{"ErrEXE", eonpro.NewDocument{Content: []byte("MZ\x90\x00\x03\x00\x00\x00")}, eonpro.EINVALID, "file"},
		{"ErrSniffMismatch", eonpro.NewDocument{Content: png, ContentType: "application/pdf"}, eonpro.EINVALID, "file"},
		{"ErrBadDeclaredType", eonpro.NewDocument{Content: png, ContentType: "image/"}, eonpro.EINVALID, "file"},
		{"ErrKind", eonpro.NewDocument{Kind: "x-ray", Content: png}, eonpro.EINVALID, "kind"},
		{"ErrNoFilename", eonpro.NewDocument{Filename: " ", Content: png}, eonpro.EINVALID, "file"},
		{"ErrControlInFilename", eonpro.NewDocument{Filename: "a\r\nb.png", Content: png}, eonpro.EINVALID, "file"},
		{"ErrLongFilename", eonpro.NewDocument{Filename: strings.Repeat("é", 128) + ".png", Content: png}, eonpro.EINVALID, "file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.nd.Kind == "" {
				tt.nd.Kind = eonpro.DocumentOther
			}
			if tt.nd.Filename == "" {
				tt.nd.Filename = "scan.bin"
			}
			_, err := e.docs.CreateDocument(e.adminA, e.patientA, tt.nd)
			if eonpro.ErrorCode(err) != tt.code || eonpro.ErrorFields(err)[tt.field] == "" {
				t.Errorf("CreateDocument = %v %v, want %s naming %s", err, eonpro.ErrorFields(err), tt.code, tt.field)
			}
		})
	}
	for _, ok := range []eonpro.NewDocument{
		{Content: png, ContentType: "image/png"},
		{Content: []byte("\xff\xd8\xff\xe0\x00\x10JFIF"), ContentType: "image/jpg"},
		{Content: []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), ContentType: "image/heic"},
		{Content: []byte("Na 140 mmol/L\n"), ContentType: "text/plain; charset=utf-8"},
		{Content: png, ContentType: "application/octet-stream"},
	} {
		ok.Kind, ok.Filename = eonpro.DocumentInsuranceCard, "card"
		if _, err := e.docs.CreateDocument(e.adminA, e.patientA, ok); err != nil {
			t.Errorf("CreateDocument of %s: %v", ok.ContentType, err)
		}
	}
}

func testDocumentArchive(t *testing.T, e *docEnv) {
	d := e.upload(t, e.adminA, e.patientA, "old.pdf", pdf("old"))
	if err := e.docs.ArchiveDocument(e.adminA, d.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.docs.ArchiveDocument(e.adminA, d.ID); err != nil {
		t.Errorf("second archive: %v", err)
	}
	n := 0
	for _, ev := range trail(t, e.db, phiClinicA) {
		if ev == "phi.delete document "+d.ID+" "+e.patientA {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d phi.delete events, want 1", n)
	}
	active, _, _ := e.docs.FindDocuments(e.adminA, eonpro.DocumentFilter{PatientID: e.patientA})
	for _, a := range active {
		if a.ID == d.ID {
			t.Error("archived document in the default list")
		}
	}
	archived := eonpro.DocumentArchived
	list, _, err := e.docs.FindDocuments(e.adminA, eonpro.DocumentFilter{PatientID: e.patientA, Status: &archived})
	if err != nil || len(list) == 0 || list[0].ID != d.ID || list[0].ArchivedAt == nil || list[0].Status != archived {
		t.Errorf("archived list = %v, %v", list, err)
	}
	if _, body, err := e.docs.FindDocumentContent(e.adminA, d.ID); err != nil || !bytes.Equal(body, pdf("old")) {
		t.Errorf("archived content: %v", err)
	}
	bad := "deleted"
	if _, _, err := e.docs.FindDocuments(e.adminA, eonpro.DocumentFilter{PatientID: e.patientA, Status: &bad}); eonpro.ErrorFields(err)["status"] == "" {
		t.Errorf("status=deleted: %v, want EINVALID naming status", err)
	}
}

func testDocumentPages(t *testing.T, e *docEnv) {
	patient := createPatient(t, e.phiEnv, e.adminA)
	var ids []string
	for i := range 5 {
		ids = append(ids, e.upload(t, e.adminA, patient, strings.Repeat("p", i+1)+".pdf", pdf("page")).ID)
	}
	var got []string
	cursor := ""
	for range 3 {
		page, next, err := e.docs.FindDocuments(e.adminA, eonpro.DocumentFilter{PatientID: patient, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page {
			got = append(got, d.ID)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if diff := cmp.Diff(want, got); diff != "" || cursor != "" {
		t.Errorf("pages mismatch (-want +got):\n%s (last cursor %q)", diff, cursor)
	}
	for _, f := range []eonpro.DocumentFilter{{PatientID: patient, Limit: 201}, {PatientID: patient, Cursor: "../x"}} {
		if _, _, err := e.docs.FindDocuments(e.adminA, f); eonpro.ErrorCode(err) != eonpro.EINVALID {
			t.Errorf("FindDocuments(%+v) = %v, want EINVALID", f, err)
		}
	}
}

// failingBlobs is a blob store whose writes fail.
type failingBlobs struct{ eonpro.BlobStore }

var errBlobDown = errors.New("blob store down")

func (failingBlobs) Put(context.Context, string, io.Reader) error { return errBlobDown }

// testDocumentBlobFails: no row is left when the content cannot be stored.
func testDocumentBlobFails(t *testing.T, e *docEnv) {
	patient := createPatient(t, e.phiEnv, e.adminA)
	docs := sqlstore.NewDocumentService(e.db, e.ring, failingBlobs{e.blobs}, 0)
	_, err := docs.CreateDocument(e.adminA, patient, eonpro.NewDocument{Kind: eonpro.DocumentOther, Filename: "x.pdf", Content: pdf("x")})
	if !errors.Is(err, errBlobDown) {
		t.Errorf("CreateDocument = %v, want the blob store's error", err)
	}
	if list, _, _ := e.docs.FindDocuments(e.adminA, eonpro.DocumentFilter{PatientID: patient}); len(list) != 0 {
		t.Errorf("%d documents after a failed upload", len(list))
	}
}

// testDocumentKeysDestroyed: crypto-shredding the clinic makes its
// documents unreadable, and no one else's.
func testDocumentKeysDestroyed(t *testing.T, e *docEnv) {
	pe := newPHIEnv(t, sqltest.Open(t, e.db.Engine(), nil))
	other := newDocEnvOn(t, pe, 0)
	dA := other.upload(t, other.adminA, other.patientA, "a.pdf", pdf("a"))
	dB := other.upload(t, other.adminB, other.patientB, "b.pdf", pdf("b"))
	if err := other.ring.Destroy(context.Background(), phiClinicA); err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.docs.FindDocumentContent(other.adminA, dA.ID); eonpro.ErrorCode(err) != eonpro.EUNAVAILABLE {
		t.Errorf("content after destroy = %v, want EUNAVAILABLE", err)
	}
	if _, _, err := other.docs.FindDocumentContent(other.adminB, dB.ID); err != nil {
		t.Errorf("other clinic's content after destroy: %v", err)
	}
}
