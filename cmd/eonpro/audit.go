package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

// auditFlags are the flags of the audit commands.
type auditFlags struct{ clinic string }

func (a *auditFlags) register(command string, fs *flag.FlagSet) {
	if command == "audit verify" {
		fs.StringVar(&a.clinic, "clinic", "", "slug of the one clinic to verify (default: every clinic and the platform chain)")
	}
}

// validateAudit checks the audit settings (Validate requires the signing
// key file in production).
func (c *Config) validateAudit() error {
	if c.AuditCheckpointInterval < time.Minute {
		return errors.New("config: EONPRO_AUDIT_CHECKPOINT_INTERVAL must be at least 1m")
	}
	return c.validateAuditAnchor()
}

// auditFallbackPath is EONPRO_AUDIT_FALLBACK or its default in DataDir.
func (c *Config) auditFallbackPath() string {
	if c.AuditFallback != "" {
		return c.AuditFallback
	}
	return filepath.Join(c.DataDir, "audit-fallback.jsonl")
}

// auditCheckpointDir is EONPRO_AUDIT_CHECKPOINT_DIR or its default.
func (c *Config) auditCheckpointDir() string {
	if c.AuditCheckpointDir != "" {
		return c.AuditCheckpointDir
	}
	return filepath.Join(c.DataDir, "audit-checkpoints")
}

// auditSigningKey reads the checkpoint signing key (PEM, PKCS #8
// Ed25519). Without EONPRO_AUDIT_SIGNING_KEY_FILE (development only; see
// validateAudit) the key lives in DataDir/audit-signing.key, created with
// mode 0600 on first use.
func (c *Config) auditSigningKey(log *slog.Logger) (ed25519.PrivateKey, error) {
	path := c.AuditSigningKeyFile
	if path == "" {
		path = filepath.Join(c.DataDir, "audit-signing.key")
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && c.AuditSigningKeyFile == "" {
		if raw, err = newSigningKeyFile(path); err == nil {
			log.Warn("generated a development audit signing key; set EONPRO_AUDIT_SIGNING_KEY_FILE in production", "path", path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("audit signing key %s is not a PEM private key", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if ed, ok := key.(ed25519.PrivateKey); ok && err == nil {
		return ed, nil
	}
	return nil, fmt.Errorf("audit signing key %s is not an Ed25519 key", path)
}

func newSigningKeyFile(path string) ([]byte, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	raw := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it first
		return os.ReadFile(path)
	} else if err != nil {
		return nil, err
	}
	_, err = f.Write(raw)
	return raw, errors.Join(err, f.Close())
}

// auditService builds the audit service on m.db; patients finds a
// patient's record for their access log (nil where none is served).
func (m *Main) auditService(ctx context.Context, notify eonpro.Notifier, patients eonpro.PatientLookup) (*sqlstore.AuditService, error) {
	key, err := m.Config.auditSigningKey(m.log)
	if err != nil {
		return nil, err
	}
	anchors, err := m.auditAnchors(ctx)
	if err != nil {
		return nil, err
	}
	return sqlstore.NewAuditService(m.db, sqlstore.AuditOptions{Notifier: notify, Patients: patients, SigningKey: key,
		CheckpointDir: m.Config.auditCheckpointDir(), Anchors: anchors, CheckpointInterval: m.Config.AuditCheckpointInterval})
}

// runAudit runs audit verify and audit checkpoint as the system.
func (m *Main) runAudit(ctx context.Context) error {
	svc, err := m.auditService(ctx, sqlstore.NewOutboxNotifier(m.db, m.log), nil)
	if err != nil {
		return err
	}
	if m.Command == "audit checkpoint" {
		cps, err := svc.Checkpoint(ctx)
		for _, cp := range cps {
			fmt.Fprintf(m.Stdout, "%s: checkpoint at seq %d %s\n", m.chainName(ctx, cp.ClinicID), cp.Seq, cp.Hash)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "%d checkpoints written to %s\n", len(cps), m.Config.auditCheckpointDir())
		return nil
	}
	results, err := m.verifyResults(ctx, svc)
	if err != nil {
		return describe(err)
	}
	var broken []string
	for _, r := range results {
		name := m.chainName(ctx, r.ClinicID)
		if r.OK {
			fmt.Fprintf(m.Stdout, "%s: %d events, intact (%d checkpoints)%s\n", name, r.Count, r.Checkpoints, checkpointAge(r))
		} else {
			bad := "a missing event"
			if r.FirstBad != nil {
				bad = "event " + *r.FirstBad
			}
			line := fmt.Sprintf("%s: BROKEN at seq %d (%s): %s", name, r.FirstBadSeq, bad, r.Reason)
			fmt.Fprintln(m.Stdout, line)
			broken = append(broken, line)
		}
		for _, src := range r.Sources {
			fmt.Fprintf(m.Stdout, "  %s: %d checkpoints%s\n", src.Name, src.Checkpoints, newestIn(src))
		}
	}
	if len(broken) > 0 {
		return fmt.Errorf("audit trail broken: %s", broken[0])
	}
	return nil
}

func (m *Main) verifyResults(ctx context.Context, svc *sqlstore.AuditService) ([]*eonpro.VerifyResult, error) {
	if m.auditFlags.clinic == "" {
		return svc.VerifyAll(ctx)
	}
	c, err := sqlstore.NewClinicService(m.db).FindClinicByRef(ctx, m.auditFlags.clinic)
	if err != nil {
		return nil, err
	}
	r, err := svc.Verify(ctx, c.ID)
	return []*eonpro.VerifyResult{r}, err
}

// chainName names a chain for people: "clinic SLUG" or "platform".
func (m *Main) chainName(ctx context.Context, clinicID string) string {
	if clinicID == "" {
		return "platform"
	}
	if c, err := sqlstore.NewClinicService(m.db).FindClinicByRef(ctx, clinicID); err == nil {
		return "clinic " + c.Slug
	}
	return "clinic " + clinicID
}
