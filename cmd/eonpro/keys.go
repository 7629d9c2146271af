package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/jobs"
	"github.com/eonpro/eonpro/phi"
	"github.com/eonpro/eonpro/sqlstore"
)

// keyFlags are the flags of the key commands.
type keyFlags struct {
	clinic  string // keys rotate --clinic
	slug    string // clinic destroy-keys SLUG
	confirm bool
}

func (k *keyFlags) register(command string, fs *flag.FlagSet) {
	switch command {
	case "keys rotate":
		fs.StringVar(&k.clinic, "clinic", "", "slug of the one clinic to rotate (default: every clinic)")
	case "clinic destroy-keys":
		fs.BoolVar(&k.confirm, "confirm", false, "confirm that the clinic's PHI is to become unreadable for good")
	}
}

// parseDestroy takes the clinic of destroy-keys, which may stand before
// or after the flags, and insists on --confirm.
func (k *keyFlags) parseDestroy(fs *flag.FlagSet) error {
	if fs.NArg() == 0 {
		return usageError{"usage: eonpro clinic destroy-keys SLUG --confirm"}
	}
	k.slug = fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return usageError{err.Error()}
	}
	if !k.confirm && fs.NArg() == 0 {
		return usageError{"clinic destroy-keys makes the clinic's PHI unreadable for good; add --confirm"}
	}
	return nil
}

// openKeys builds the key ring on the configured master key and the key
// service over the registered PHI columns. A rotation enqueues the
// re-encryption on m.queue, in the transaction that stores the new key.
func (m *Main) openKeys(ctx context.Context) error {
	master, kind, err := m.Config.masterKey(ctx, m.log)
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	if err := checkMaster(ctx, master); err != nil {
		return err
	}
	store := sqlstore.NewPHIKeyStore(m.db, m.enqueueReencrypt)
	m.ring = phi.NewKeyRing(store, master, phi.RingOptions{})
	if m.keys, err = sqlstore.NewKeyService(m.db, m.ring, store, phi.Columns()); err != nil {
		return err
	}
	m.encryption = kind
	m.log.Info("encryption", "master_key", master.ID())
	return nil
}

// checkMaster wraps and unwraps a throw-away key, so that a wrong key id,
// missing KMS permissions or an unreachable KMS stop the start rather
// than the first request that touches PHI.
func checkMaster(ctx context.Context, master phi.MasterKey) error {
	kc := phi.KeyContext{ClinicID: "startup-check", Purpose: phi.PurposeEncrypt, Version: 1}
	w, err := master.Wrap(ctx, make([]byte, 32), kc)
	if err == nil {
		_, err = master.Unwrap(ctx, w, kc)
	}
	if err != nil {
		return fmt.Errorf("master key %s does not work: %w", master.ID(), err)
	}
	return nil
}

func (m *Main) enqueueReencrypt(ctx context.Context, tx *sqlstore.Tx, clinicID string, version int) error {
	return m.queue.EnqueueTx(ctx, tx, jobs.ReencryptArgs{ClinicID: clinicID, Version: version, RotatedAt: m.db.Now()}, nil)
}

// runKeys runs keys rotate, keys status and clinic destroy-keys as the system.
func (m *Main) runKeys(ctx context.Context) error {
	if err := m.openKeys(ctx); err != nil {
		return err
	}
	switch m.Command {
	case "keys status":
		return m.keysStatus(ctx)
	case "keys rotate":
		q, err := jobs.New(m.db, jobs.Config{Logger: quieter(m.log, slog.LevelWarn)}, jobs.Services{Keys: m.keys})
		if err != nil {
			return err
		}
		m.queue = q // not started: it only enqueues, for the servers to work
		return m.keysRotate(ctx)
	}
	c, err := sqlstore.NewClinicService(m.db).FindClinicByRef(ctx, m.keyFlags.slug)
	if err != nil {
		return describe(err)
	}
	if err := m.keys.DestroyKeys(ctx, c.ID); err != nil {
		return describe(err)
	}
	fmt.Fprintf(m.Stdout, "Destroyed the keys of clinic %s: its PHI is unreadable from now on (servers drop cached keys within %s).\n", c.Slug, phi.DefaultRefresh)
	fmt.Fprintln(m.Stdout, "Database backups taken before now still hold its wrapped keys: expire them to complete the erasure.")
	return nil
}

func (m *Main) keysRotate(ctx context.Context) error {
	var targets []eonpro.ClinicKeyStatus
	if m.keyFlags.clinic != "" {
		c, err := sqlstore.NewClinicService(m.db).FindClinicByRef(ctx, m.keyFlags.clinic)
		if err != nil {
			return describe(err)
		}
		targets = []eonpro.ClinicKeyStatus{{ClinicID: c.ID, ClinicSlug: c.Slug}}
	} else {
		all, err := m.keys.KeyStatus(ctx)
		if err != nil {
			return describe(err)
		}
		targets = all
	}
	for _, c := range targets {
		if c.DestroyedAt != nil {
			fmt.Fprintf(m.Stdout, "%s: keys destroyed, skipped\n", c.ClinicSlug)
			continue
		}
		v, err := m.keys.RotateKeys(ctx, c.ClinicID)
		if err != nil {
			return fmt.Errorf("%s: %w", c.ClinicSlug, describe(err))
		}
		if v == 1 {
			fmt.Fprintf(m.Stdout, "%s: created key version 1\n", c.ClinicSlug)
		} else {
			fmt.Fprintf(m.Stdout, "%s: key version %d; re-encryption of older values queued\n", c.ClinicSlug, v)
		}
	}
	return nil
}

func (m *Main) keysStatus(ctx context.Context) error {
	all, err := m.keys.KeyStatus(ctx)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(m.Stdout, "master key: %s\n", m.ring.MasterKeyID())
	w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CLINIC\tVERSION\tCREATED\tVALUES")
	for _, c := range all {
		switch {
		case c.DestroyedAt != nil:
			fmt.Fprintf(w, "%s\t-\tdestroyed %s\t-\n", c.ClinicSlug, c.DestroyedAt.Format(time.RFC3339))
		case len(c.Versions) == 0:
			fmt.Fprintf(w, "%s\t-\tno keys yet\t0\n", c.ClinicSlug)
		}
		for i, v := range c.Versions {
			version := fmt.Sprint(v.Version)
			if i == len(c.Versions)-1 {
				version += " (newest)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\n", c.ClinicSlug, version, v.CreatedAt.Format(time.RFC3339), v.Values)
		}
	}
	return w.Flush()
}
