package eonpro_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
)

// item is one length-prefixed item of the documented canonical encoding.
func item(s string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(s))), s...)
}

// TestAuditCanonical pins the canonical encoding docs/security.md
// documents, built here by hand from the description.
func TestAuditCanonical(t *testing.T) {
	ev := eonpro.AuditEvent{ID: "e1", Seq: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("x", 3600)),
		ClinicID: "c1", ActorType: "user", ActorID: "u1", ActorRole: "admin", Action: eonpro.ActionPHIView,
		ResourceType: "patient", ResourceID: "p1", PatientID: "p1", Outcome: "success", IP: "192.0.2.1",
		UserAgent: "ü", RequestID: "r1", SessionID: "s1", Detail: map[string]string{"b": "2", "a": "1"},
		PrevHash: eonpro.GenesisHash}
	var want []byte
	for _, s := range []string{"eonpro-audit-v1", "e1", "7", "2026-01-02T02:04:05.000006000Z", "c1", "user", "u1", "admin",
		"phi.view", "patient", "p1", "p1", "success", "192.0.2.1", "ü", "r1", "s1", "2", "a", "1", "b", "2"} {
		want = append(want, item(s)...)
	}
	if got := ev.Canonical(); string(got) != string(want) {
		t.Fatalf("canonical mismatch (-want +got):\n-%x\n+%x", want, got)
	}
	sum := sha256.Sum256(append(make([]byte, 32), want...))
	if got, err := ev.ComputeHash(); err != nil || got != hex.EncodeToString(sum[:]) {
		t.Errorf("hash %s (%v), want %x", got, err, sum)
	}
	ev.PrevHash = "not hex"
	if _, err := ev.ComputeHash(); err == nil {
		t.Error("a bad prev_hash hashed")
	}
}

func TestAuditCheckpointSignature(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	cp := eonpro.AuditCheckpoint{ClinicID: "c1", Seq: 3, Hash: eonpro.GenesisHash, Time: time.Now()}
	cp.Sign(key)
	if !cp.VerifySignature(pub) {
		t.Fatal("a fresh checkpoint does not verify")
	}
	for name, tamper := range map[string]func(*eonpro.AuditCheckpoint){
		"Seq":   func(c *eonpro.AuditCheckpoint) { c.Seq++ },
		"Hash":  func(c *eonpro.AuditCheckpoint) { c.Hash = "ff" + c.Hash[2:] },
		"Time":  func(c *eonpro.AuditCheckpoint) { c.Time = c.Time.Add(time.Second) },
		"Chain": func(c *eonpro.AuditCheckpoint) { c.ClinicID = "c2" },
	} {
		c := cp
		tamper(&c)
		if c.VerifySignature(pub) {
			t.Errorf("ErrTampered%s: verifies", name)
		}
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if cp.VerifySignature(other) {
		t.Error("verifies under another key")
	}
}
