package eonpro

import (
	"context"
	"slices"
	"time"
)

// ConsentKind is what a patient consented to.
type ConsentKind string

// The consent kinds.
const (
	ConsentTelehealth    ConsentKind = "telehealth"
	ConsentTreatment     ConsentKind = "treatment"
	ConsentPrivacyNotice ConsentKind = "privacy_notice"
	ConsentSMS           ConsentKind = "sms"
)

// ConsentKinds lists every consent kind.
var ConsentKinds = []ConsentKind{ConsentTelehealth, ConsentTreatment, ConsentPrivacyNotice, ConsentSMS}

// Valid reports whether k is a known kind.
func (k ConsentKind) Valid() bool { return slices.Contains(ConsentKinds, k) }

// Consent is a patient's signed consent to one version of a clinic's
// form. It is evidence: never changed or deleted, a new signature is a
// new consent.
type Consent struct {
	ID        string      `json:"id"`
	PatientID string      `json:"patient_id"`
	Kind      ConsentKind `json:"kind"`
	// Version names the text that was signed, as the clinic versions it.
	Version    string    `json:"version"`
	SignedName string    `json:"signed_name"`
	SignedAt   time.Time `json:"signed_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	// RecordedBy is the user or API key that recorded the signature.
	RecordedBy string `json:"recorded_by"`
}

// NewConsent is the input of CreateConsent.
type NewConsent struct {
	Kind       ConsentKind `json:"kind"`
	Version    string      `json:"version"`
	SignedName string      `json:"signed_name"`
}

// ConsentFilter selects a patient's consents; Kind nil selects all.
// Limit is 1 to 200 (0 means 50); Cursor is the next_cursor of the
// previous page.
type ConsentFilter struct {
	PatientID string
	Kind      *ConsentKind
	Limit     int
	Cursor    string
}

// ConsentService records patients' consents. A patient of another clinic
// is reported exactly as a missing one.
type ConsentService interface {
	// CreateConsent records a patient's signature now, with the IP and
	// user agent of the request, recording phi.create. Needs
	// patients:write; returns EFORBIDDEN, ENOTFOUND for the patient,
	// EINVALID naming kind, version or signed_name.
	CreateConsent(ctx context.Context, patientID string, c NewConsent) (*Consent, error)
	// FindConsents lists a patient's consents, newest first, and the
	// cursor of the next page, recording phi.view. Needs patients:read,
	// or own_record for the principal's own record; returns EFORBIDDEN, ENOTFOUND for the patient, EINVALID naming
	// kind, limit or cursor.
	FindConsents(ctx context.Context, f ConsentFilter) ([]*Consent, string, error)
}
