package eonpro

import (
	"context"
	"slices"
	"time"
)

// DocumentKind is what a patient document is.
type DocumentKind string

// The document kinds.
const (
	DocumentIDCard        DocumentKind = "id_card"
	DocumentInsuranceCard DocumentKind = "insurance_card"
	DocumentLabResult     DocumentKind = "lab_result"
	DocumentConsent       DocumentKind = "consent"
	DocumentOther         DocumentKind = "other"
)

// DocumentKinds lists every document kind.
var DocumentKinds = []DocumentKind{DocumentIDCard, DocumentInsuranceCard, DocumentLabResult, DocumentConsent, DocumentOther}

// Valid reports whether k is a known kind.
func (k DocumentKind) Valid() bool { return slices.Contains(DocumentKinds, k) }

// The content types a document may have, as the sniffer names them.
const (
	ContentTypePDF  = "application/pdf"
	ContentTypePNG  = "image/png"
	ContentTypeJPEG = "image/jpeg"
	ContentTypeHEIC = "image/heic"
	ContentTypeText = "text/plain; charset=utf-8"
)

// DocumentContentTypes is the allow-list of document content types:
// scans, photos and plain text. Anything a browser could run (HTML, SVG,
// scripts) or a desktop could execute stays out.
var DocumentContentTypes = []string{ContentTypePDF, ContentTypePNG, ContentTypeJPEG, ContentTypeHEIC, ContentTypeText}

// Document statuses. Nothing is deleted: archiving hides a document from
// the default list and keeps it for the record.
const (
	DocumentActive   = "active"
	DocumentArchived = "archived"
)

// DefaultMaxUploadBytes is the default size limit of a document: 20 MiB.
const DefaultMaxUploadBytes = 20 << 20

// Document is a file in a patient's record. Its content is kept
// encrypted in a BlobStore under a random key that is never shown.
type Document struct {
	ID          string       `json:"id"`
	PatientID   string       `json:"patient_id"`
	Kind        DocumentKind `json:"kind"`
	Filename    string       `json:"filename"`
	ContentType string       `json:"content_type"`
	Size        int64        `json:"size"`
	// SHA256 is the hex SHA-256 of the content, for checking a download.
	SHA256     string     `json:"sha256"`
	Status     string     `json:"status"`
	UploadedBy string     `json:"uploaded_by"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	ArchivedAt *time.Time `json:"archived_at"`
}

// NewDocument is the input of CreateDocument. ContentType is what the
// client declared; "" or application/octet-stream declare nothing.
type NewDocument struct {
	Kind        DocumentKind
	Filename    string
	ContentType string
	Content     []byte
}

// DocumentFilter selects a patient's documents. Status is active when
// nil; Limit is 1 to 200 (0 means 50); Cursor is the next_cursor of the
// previous page.
type DocumentFilter struct {
	PatientID string
	Status    *string
	Limit     int
	Cursor    string
}

// DocumentService keeps patients' documents. A patient or document of
// another clinic is reported exactly as a missing one.
type DocumentService interface {
	// CreateDocument stores a document for a patient of the clinic of
	// the request, recording phi.create. The type is sniffed from the
	// content and must be in DocumentContentTypes. Needs patients:write;
	// returns EFORBIDDEN, ENOTFOUND for the patient, ETOOLARGE over the
	// size limit, EINVALID naming kind or file (a disallowed type, or a
	// declared type the content contradicts).
	CreateDocument(ctx context.Context, patientID string, d NewDocument) (*Document, error)
	// FindDocuments lists a patient's documents, newest first, and the
	// cursor of the next page ("" at the end), recording phi.view.
	// Needs patients:read, or own_record for the principal's own
	// record; returns EFORBIDDEN, ENOTFOUND for the patient,
	// EINVALID naming status, limit or cursor.
	FindDocuments(ctx context.Context, f DocumentFilter) ([]*Document, string, error)
	// FindDocumentContent returns a document and its decrypted content,
	// recording phi.view with the patient. Archived documents stay
	// readable. Needs patients:read, or own_record for a document of the
	// principal's own record; returns EFORBIDDEN, ENOTFOUND.
	FindDocumentContent(ctx context.Context, id string) (*Document, []byte, error)
	// ArchiveDocument archives a document, recording phi.delete; one
	// already archived stays so without a second event. Needs
	// patients:write; returns EFORBIDDEN, ENOTFOUND.
	ArchiveDocument(ctx context.Context, id string) error
	// SweepOrphanBlobs deletes, across every clinic, the stored content
	// older than OrphanBlobAge that no document row references: left by
	// uploads whose transaction failed or whose process died. Failed
	// deletions are counted, not returned. The system and super admins
	// only; EFORBIDDEN otherwise.
	SweepOrphanBlobs(ctx context.Context) (BlobSweep, error)
}
