package eonpro

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GenesisHash is the PrevHash of the first event of every chain.
var GenesisHash = strings.Repeat("0", 64)

// AuditTimeLayout is how times enter the canonical encodings: RFC 3339 in
// UTC with exactly nine fractional digits. Stored times keep microseconds,
// so the last three digits are always 000.
const AuditTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// canonical writes items as the canonical encoding: each item is its byte
// length as a 4-byte big-endian unsigned integer, then its UTF-8 bytes.
func canonical(items ...string) []byte {
	n := 0
	for _, it := range items {
		n += 4 + len(it)
	}
	out := make([]byte, 0, n)
	for _, it := range items {
		out = binary.BigEndian.AppendUint32(out, uint32(len(it)))
		out = append(out, it...)
	}
	return out
}

// Canonical returns the bytes an event's hash covers: the items
// "eonpro-audit-v1", id, seq (decimal), time (AuditTimeLayout), clinic id,
// actor type, actor id, actor role, action, resource type, resource id,
// patient id, outcome, IP, user agent, request id, session id, the number
// of detail entries (decimal), then each detail key and value in byte
// order of the keys, all in the length-prefixed form of canonical. Absent
// values are empty strings.
func (e *AuditEvent) Canonical() []byte {
	items := []string{"eonpro-audit-v1", e.ID, strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(AuditTimeLayout),
		e.ClinicID, e.ActorType, e.ActorID, e.ActorRole, string(e.Action), e.ResourceType, e.ResourceID,
		e.PatientID, e.Outcome, e.IP, e.UserAgent, e.RequestID, e.SessionID, strconv.Itoa(len(e.Detail))}
	keys := make([]string, 0, len(e.Detail))
	for k := range e.Detail {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		items = append(items, k, e.Detail[k])
	}
	return canonical(items...)
}

// ComputeHash returns the event's hash in lower-case hex:
// SHA-256(prev || Canonical()), where prev is the 32 bytes PrevHash spells.
func (e *AuditEvent) ComputeHash() (string, error) {
	prev, err := hex.DecodeString(e.PrevHash)
	if err != nil || len(prev) != sha256.Size {
		return "", errors.New("audit: prev_hash is not 64 hex digits")
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(e.Canonical())
	return hex.EncodeToString(h.Sum(nil)), nil
}

// AuditCheckpoint is a signed statement of a chain's head at a time,
// written outside the database so that a rewrite of the whole chain by
// someone with database access shows against it.
type AuditCheckpoint struct {
	Version  int       `json:"version"`
	ClinicID string    `json:"clinic_id"`
	Seq      int64     `json:"seq"`
	Hash     string    `json:"hash"`
	Time     time.Time `json:"time"`
	// KeyID names the signing key: the first 8 bytes of the SHA-256 of
	// its public key, in hex.
	KeyID string `json:"key_id"`
	// Signature is the base64 Ed25519 signature of SignedBytes.
	Signature string `json:"signature"`
}

// SignedBytes returns what the signature covers: the items
// "eonpro-audit-checkpoint-v1", clinic id, seq (decimal), hash and time
// (AuditTimeLayout) in the length-prefixed form of Canonical.
func (c *AuditCheckpoint) SignedBytes() []byte {
	return canonical("eonpro-audit-checkpoint-v1", c.ClinicID, strconv.FormatInt(c.Seq, 10), c.Hash,
		c.Time.UTC().Format(AuditTimeLayout))
}

// Sign sets Version, KeyID and Signature with key.
func (c *AuditCheckpoint) Sign(key ed25519.PrivateKey) {
	c.Version = 1
	c.KeyID = AuditKeyID(key.Public().(ed25519.PublicKey))
	c.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, c.SignedBytes()))
}

// VerifySignature reports whether the checkpoint was signed by pub.
func (c *AuditCheckpoint) VerifySignature(pub ed25519.PublicKey) bool {
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	return err == nil && c.Version == 1 && c.KeyID == AuditKeyID(pub) && ed25519.Verify(pub, c.SignedBytes(), sig)
}

// AuditKeyID returns the id of a checkpoint signing key.
func AuditKeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}
