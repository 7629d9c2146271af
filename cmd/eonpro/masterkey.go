package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/eonpro/eonpro/phi"
)

// validateMasterKey checks the master key settings: at most one source,
// and a well-formed key.
func (c *Config) validateMasterKey() error {
	n := 0
	for _, v := range []string{c.MasterKey, c.MasterKeyFile, c.KMSKeyID} {
		if v != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return errors.New("config: set only one of EONPRO_MASTER_KEY, EONPRO_MASTER_KEY_FILE and EONPRO_KMS_KEY_ID")
	case c.KMSEndpoint != "" && c.KMSKeyID == "":
		return errors.New("config: EONPRO_KMS_ENDPOINT is set without EONPRO_KMS_KEY_ID")
	case c.MasterKey != "":
		if _, err := phi.ParseLocalMaster(c.MasterKey); err != nil {
			return errors.New("config: EONPRO_MASTER_KEY must be the base64 encoding of 32 bytes (openssl rand -base64 32)")
		}
	}
	return nil
}

// masterKey returns the configured master key and its kind, "kms" or
// "local". Outside production, with none configured, it uses a key kept
// in DataDir/master.key (created with mode 0600 on first start). That
// file must outlive restarts and go with every backup of the database's
// keys: without it, all PHI is lost.
func (c *Config) masterKey(ctx context.Context, log *slog.Logger) (phi.MasterKey, string, error) {
	switch {
	case c.KMSKeyID != "":
		client, err := phi.NewKMSClient(ctx, c.AWSRegion, c.KMSEndpoint)
		if err != nil {
			return nil, "", err
		}
		return phi.NewKMSMaster(client, c.KMSKeyID), "kms", nil
	case c.MasterKey != "":
		m, err := phi.ParseLocalMaster(c.MasterKey)
		return m, "local", err
	case c.MasterKeyFile != "":
		m, err := phi.LoadLocalMaster(c.MasterKeyFile)
		return m, "local", err
	}
	path := filepath.Join(c.DataDir, "master.key")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := writeNewKeyFile(c.DataDir, path); err != nil {
			return nil, "", fmt.Errorf("master key: %w", err)
		}
		log.Warn("generated a development master key; set EONPRO_MASTER_KEY or EONPRO_KMS_KEY_ID in production", "path", path)
	}
	m, err := phi.LoadLocalMaster(path)
	return m, "local", err
}

// writeNewKeyFile creates path with a new key; a file made meanwhile by
// another process wins.
func writeNewKeyFile(dir, path string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := f.WriteString(phi.GenerateLocalMasterKey() + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
