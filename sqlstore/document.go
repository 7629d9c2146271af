package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
	"github.com/eonpro/eonpro/sniff"
)

var _ eonpro.DocumentService = (*DocumentService)(nil)

// The PHI columns of documents. The content is sealed for the pseudo
// column patient_documents.content of the document's row.
var (
	documentFilename = phi.Column{Table: "patient_documents", Column: "filename", IDColumn: "id", ClinicColumn: "clinic_id"}
	documentSHA256   = phi.Column{Table: "patient_documents", Column: "sha256", IDColumn: "id", ClinicColumn: "clinic_id"}
	documentContent  = phi.Column{Table: "patient_documents", Column: "content", IDColumn: "id", ClinicColumn: "clinic_id"}
)

func init() { phi.Register(documentFilename, documentSHA256) }

// maxFilename caps a document's file name, in bytes.
const maxFilename = 255

// DocumentService implements eonpro.DocumentService: rows here, content
// encrypted in the blob store.
type DocumentService struct {
	db       *DB
	ring     *phi.KeyRing
	blobs    eonpro.BlobStore
	maxBytes int64
}

// NewDocumentService returns the document service; maxBytes caps a
// document's size (0 means eonpro.DefaultMaxUploadBytes).
func NewDocumentService(db *DB, ring *phi.KeyRing, blobs eonpro.BlobStore, maxBytes int64) *DocumentService {
	if maxBytes <= 0 {
		maxBytes = eonpro.DefaultMaxUploadBytes
	}
	return &DocumentService{db: db, ring: ring, blobs: blobs, maxBytes: maxBytes}
}

const documentColumns = `id, patient_id, kind, filename, content_type, size, storage_key, sha256, status, uploaded_by,
    created_at, updated_at, archived_at`

var (
	selectPatientInClinic = Stmt{Name: "select_patient_in_clinic", SQL: `
SELECT id FROM patients WHERE clinic_id = $1 AND id = $2`}
	// insertDocument inserts nothing unless the patient is the clinic's.
	insertDocument = Stmt{Name: "insert_document", SQL: `
INSERT INTO patient_documents (
    id,
    clinic_id,
    patient_id,
    kind,
    filename,
    content_type,
    size,
    storage_key,
    sha256,
    status,
    uploaded_by,
    created_at,
    updated_at
)
SELECT $1, clinic_id, id, $4, $5, $6, $7, $8, $9, 'active', $10, $11, $11
FROM patients
WHERE clinic_id = $2
  AND id = $3`}
	selectDocument = Stmt{Name: "select_document", SQL: `
SELECT ` + documentColumns + `
FROM patient_documents
WHERE clinic_id = $1
  AND id = $2`}
	selectDocumentPage = Stmt{Name: "select_document_page", SQL: `
SELECT ` + documentColumns + `
FROM patient_documents
WHERE clinic_id = $1
  AND patient_id = $2
  AND status = $3
  AND ($4::text IS NULL OR id < $4)
ORDER BY id DESC
LIMIT $5`, SQLite: `
SELECT ` + documentColumns + `
FROM patient_documents
WHERE clinic_id = $1
  AND patient_id = $2
  AND status = $3
  AND ($4 IS NULL OR id < $4)
ORDER BY id DESC
LIMIT $5`}
	archiveDocument = Stmt{Name: "archive_document", SQL: `
UPDATE patient_documents
SET status = 'archived',
    archived_at = $3,
    updated_at = $3
WHERE clinic_id = $1
  AND id = $2
  AND status = 'active'
RETURNING patient_id`}
)

// storedDocument is a document row: the document with its PHI still
// sealed and where its content is.
type storedDocument struct {
	eonpro.Document
	storageKey string
}

func scanDocument(rows scanner) (*storedDocument, error) {
	var d storedDocument
	err := rows.Scan(&d.ID, &d.PatientID, &d.Kind, &d.Filename, &d.ContentType, &d.Size, &d.storageKey, &d.SHA256,
		&d.Status, &d.UploadedBy, &d.CreatedAt, &d.UpdatedAt, &d.ArchivedAt)
	return &d, err
}

// open decrypts the document's PHI fields in place.
func (s *DocumentService) open(ctx context.Context, clinicID string, d *storedDocument) error {
	var err error
	if d.Filename, err = s.ring.Decrypt(ctx, clinicID, documentFilename.Field(d.ID), d.Filename); err != nil {
		return err
	}
	d.SHA256, err = s.ring.Decrypt(ctx, clinicID, documentSHA256.Field(d.ID), d.SHA256)
	return err
}

// requirePatient returns ENOTFOUND unless the patient is the clinic's.
func requirePatient(ctx context.Context, tx *Tx, clinicID, patientID string) error {
	var id string
	err := tx.QueryRow(ctx, selectPatientInClinic, clinicID, patientID).Scan(&id)
	if err == ErrNoRows {
		return eonpro.Errorf(eonpro.ENOTFOUND, "Patient not found.")
	}
	return err
}

// CreateDocument validates, encrypts and stores the content under a new
// random key, then records the row and phi.create in one transaction;
// when that fails, the stored content is deleted again.
func (s *DocumentService) CreateDocument(ctx context.Context, patientID string, nd eonpro.NewDocument) (*eonpro.Document, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermPatientsWrite) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not add documents.")
	}
	filename, err := validDocument(nd)
	if err != nil {
		return nil, err
	}
	err = s.db.ViewClinic(ctx, p.ClinicID, func(tx *Tx) error { return requirePatient(ctx, tx, p.ClinicID, patientID) })
	if err != nil {
		return nil, fmt.Errorf("create document: %w", err)
	}
	contentType, err := s.checkContent(nd)
	if err != nil {
		return nil, err
	}
	content := nd.Content
	now := s.db.Now().UTC().Truncate(time.Microsecond) // as both engines keep it
	sum := sha256.Sum256(content)
	d := &storedDocument{storageKey: eonpro.NewBlobKey(), Document: eonpro.Document{ID: eonpro.NewID(), PatientID: patientID,
		Kind: nd.Kind, Filename: filename, ContentType: contentType, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]),
		Status: eonpro.DocumentActive, UploadedBy: p.UserID, CreatedAt: now, UpdatedAt: now}}
	if err := s.store(ctx, p.ClinicID, d, content); err != nil {
		return nil, fmt.Errorf("create document: %w", err)
	}
	return &d.Document, nil
}

// validDocument checks the kind and file name, and returns the name.
func validDocument(nd eonpro.NewDocument) (string, error) {
	fields := map[string]string{}
	if !nd.Kind.Valid() {
		fields["kind"] = "must be one of id_card, insurance_card, lab_result, consent, other"
	}
	name, clean := eonpro.CleanText(nd.Filename)
	switch {
	case !clean:
		fields["file"] = "must have a file name without invisible or control characters"
	case name == "":
		fields["file"] = "must have a file name"
	case len(name) > maxFilename:
		fields["file"] = fmt.Sprintf("must have a file name of at most %d bytes", maxFilename)
	}
	if len(fields) > 0 {
		return "", &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are invalid.", Fields: fields}
	}
	return name, nil
}

// checkContent returns the sniffed type of a document's content, which
// must be within the size limit, allowed, and agree with the declared one.
func (s *DocumentService) checkContent(nd eonpro.NewDocument) (string, error) {
	if int64(len(nd.Content)) > s.maxBytes {
		return "", &eonpro.Error{Code: eonpro.ETOOLARGE, Message: fmt.Sprintf("The file is larger than %s.", byteSize(s.maxBytes)),
			Fields: map[string]string{"file": "is too large"}}
	}
	if len(nd.Content) == 0 {
		return "", eonpro.FieldError("file", "is empty")
	}
	ct := sniff.ContentType(nd.Content)
	mt, _, _ := mime.ParseMediaType(ct)
	if !slices.Contains(eonpro.DocumentContentTypes, ct) {
		return "", eonpro.FieldError("file", "is "+mt+", which is not allowed: send a PDF, PNG, JPEG, HEIC or plain-text file")
	}
	if !sniff.Matches(nd.ContentType, ct) {
		return "", eonpro.FieldError("file", "is "+mt+", which is not the type it was sent as")
	}
	return ct, nil
}

// byteSize writes n bytes in MiB when whole, else in bytes.
func byteSize(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// store encrypts d's PHI (before any transaction: a clinic's first key
// is made in a transaction of its own), puts the sealed content, then
// inserts the row and its audit event.
func (s *DocumentService) store(ctx context.Context, clinicID string, d *storedDocument, content []byte) error {
	name, err := s.ring.Encrypt(ctx, clinicID, documentFilename.Field(d.ID), d.Filename)
	if err != nil {
		return err
	}
	sum, err := s.ring.Encrypt(ctx, clinicID, documentSHA256.Field(d.ID), d.SHA256)
	if err != nil {
		return err
	}
	sealed, err := s.ring.EncryptBytes(ctx, clinicID, documentContent.Field(d.ID), content)
	if err != nil {
		return err
	}
	if err := s.blobs.Put(ctx, d.storageKey, bytes.NewReader(sealed)); err != nil {
		return err
	}
	err = s.db.InClinic(ctx, clinicID, func(tx *Tx) error {
		n, err := tx.Exec(ctx, insertDocument, d.ID, clinicID, d.PatientID, string(d.Kind), name, d.ContentType, d.Size,
			d.storageKey, sum, d.UploadedBy, d.CreatedAt)
		if err != nil {
			return err
		} else if n == 0 {
			return eonpro.Errorf(eonpro.ENOTFOUND, "Patient not found.")
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionPHICreate, ResourceType: "document",
			ResourceID: d.ID, PatientID: d.PatientID, Detail: map[string]string{"kind": string(d.Kind),
				"content_type": d.ContentType, "size": strconv.FormatInt(d.Size, 10)}})
	})
	if err != nil {
		if derr := s.blobs.Delete(context.WithoutCancel(ctx), d.storageKey); derr != nil {
			s.db.log.ErrorContext(ctx, "orphaned document content", "request_id", eonpro.RequestIDFromContext(ctx),
				"storage_key", d.storageKey, "err", derr)
		}
		return err
	}
	return nil
}

// FindDocuments lists a patient's documents of one status, newest first.
func (s *DocumentService) FindDocuments(ctx context.Context, f eonpro.DocumentFilter) ([]*eonpro.Document, string, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !canReadRecords(p) {
		return nil, "", eonpro.Errorf(eonpro.EFORBIDDEN, "You may not see documents.")
	}
	status := eonpro.DocumentActive
	if f.Status != nil {
		if status = *f.Status; status != eonpro.DocumentActive && status != eonpro.DocumentArchived {
			return nil, "", eonpro.FieldError("status", "must be active or archived")
		}
	}
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	cursor, err := idCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	var rows []*storedDocument
	err = s.db.ViewClinic(ctx, p.ClinicID, func(tx *Tx) error {
		if err := requireReadable(ctx, tx, p, f.PatientID); err != nil {
			return err
		}
		rows, err = queryAll(ctx, tx, selectDocumentPage, scanDocument, p.ClinicID, f.PatientID, status, cursor, limit+1)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("find documents: %w", err)
	}
	rows, next := cutPage(rows, limit, func(d *storedDocument) string { return d.ID })
	out := make([]*eonpro.Document, 0, len(rows))
	for _, d := range rows {
		if err := s.open(ctx, p.ClinicID, d); err != nil {
			return nil, "", fmt.Errorf("find documents: %w", err)
		}
		out = append(out, &d.Document)
	}
	err = s.db.RecordAudit(ctx, eonpro.AuditEvent{Action: eonpro.ActionPHIView, ResourceType: "document_list",
		PatientID: f.PatientID, Detail: map[string]string{"status": status, "count": strconv.Itoa(len(out))}})
	if err != nil {
		return nil, "", fmt.Errorf("find documents: %w", err)
	}
	return out, next, nil
}

// idCursor checks a cursor that is the id of the last row of a page.
func idCursor(cursor string) (*string, error) {
	if cursor == "" {
		return nil, nil
	}
	if _, err := uuid.Parse(cursor); err != nil {
		return nil, eonpro.FieldError("cursor", "is not a cursor from a previous page")
	}
	return &cursor, nil
}

// FindDocumentContent reads the row, fetches and decrypts the content,
// checks it against the recorded size and hash, and records phi.view
// before handing it out.
func (s *DocumentService) FindDocumentContent(ctx context.Context, id string) (*eonpro.Document, []byte, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !canReadRecords(p) {
		return nil, nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not see documents.")
	}
	d, err := s.find(ctx, p.ClinicID, id)
	if err == nil && !p.Can(eonpro.PermPatientsRead) {
		err = s.db.ViewClinic(ctx, p.ClinicID, func(tx *Tx) error { return requireReadable(ctx, tx, p, d.PatientID) })
		if eonpro.ErrorCode(err) == eonpro.ENOTFOUND {
			err = eonpro.Errorf(eonpro.ENOTFOUND, "Document not found.")
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find document content: %w", err)
	}
	content, err := s.content(ctx, p.ClinicID, d)
	if err != nil {
		return nil, nil, fmt.Errorf("find document content: %w", err)
	}
	err = s.db.RecordAudit(ctx, eonpro.AuditEvent{Action: eonpro.ActionPHIView, ResourceType: "document",
		ResourceID: d.ID, PatientID: d.PatientID, Detail: map[string]string{"kind": string(d.Kind)}})
	if err != nil {
		return nil, nil, fmt.Errorf("find document content: %w", err)
	}
	return &d.Document, content, nil
}

// find reads and decrypts one document of the clinic. Returns ENOTFOUND.
func (s *DocumentService) find(ctx context.Context, clinicID, id string) (*storedDocument, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, eonpro.Errorf(eonpro.ENOTFOUND, "Document not found.")
	}
	var d *storedDocument
	err := s.db.ViewClinic(ctx, clinicID, func(tx *Tx) (err error) {
		d, err = scanDocument(tx.QueryRow(ctx, selectDocument, clinicID, id))
		if err == ErrNoRows {
			return eonpro.Errorf(eonpro.ENOTFOUND, "Document not found.")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, s.open(ctx, clinicID, d)
}

// content fetches and decrypts a document's content. Content that is
// missing or does not match its row is an internal error, never a 404.
func (s *DocumentService) content(ctx context.Context, clinicID string, d *storedDocument) ([]byte, error) {
	rc, err := s.blobs.Get(ctx, d.storageKey)
	if eonpro.ErrorCode(err) == eonpro.ENOTFOUND {
		return nil, fmt.Errorf("content of document %s is missing from the blob store", d.ID)
	} else if err != nil {
		return nil, err
	}
	defer rc.Close()
	sealed, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	content, err := s.ring.DecryptBytes(ctx, clinicID, documentContent.Field(d.ID), sealed)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(content)
	if int64(len(content)) != d.Size || hex.EncodeToString(sum[:]) != d.SHA256 {
		return nil, errors.New("document content does not match its recorded size and hash")
	}
	return content, nil
}

// ArchiveDocument archives an active document and records phi.delete in
// the same transaction.
func (s *DocumentService) ArchiveDocument(ctx context.Context, id string) error {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermPatientsWrite) {
		return eonpro.Errorf(eonpro.EFORBIDDEN, "You may not archive documents.")
	}
	if _, err := uuid.Parse(id); err != nil {
		return eonpro.Errorf(eonpro.ENOTFOUND, "Document not found.")
	}
	err := s.db.InClinic(ctx, p.ClinicID, func(tx *Tx) error {
		var patientID string
		err := tx.QueryRow(ctx, archiveDocument, p.ClinicID, id, s.db.Now()).Scan(&patientID)
		if err == ErrNoRows {
			_, err = scanDocument(tx.QueryRow(ctx, selectDocument, p.ClinicID, id))
			if err == ErrNoRows {
				return eonpro.Errorf(eonpro.ENOTFOUND, "Document not found.")
			}
			return err // nil: archived before
		} else if err != nil {
			return err
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionPHIDelete, ResourceType: "document",
			ResourceID: id, PatientID: patientID, Detail: map[string]string{"status": eonpro.DocumentArchived}})
	})
	if err != nil {
		return fmt.Errorf("archive document: %w", err)
	}
	return nil
}
