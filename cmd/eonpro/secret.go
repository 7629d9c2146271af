package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// secretKey returns EONPRO_SECRET_KEY or, outside production, a key kept
// in DataDir/secret.key (created with mode 0600 on first start). The key
// must outlive restarts: 2FA secrets are encrypted under it.
func (c *Config) secretKey(log *slog.Logger) ([]byte, error) {
	if c.SecretKey != "" {
		return []byte(c.SecretKey), nil
	}
	path := filepath.Join(c.DataDir, "secret.key")
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		raw = []byte(base64.StdEncoding.EncodeToString(b))
		if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		log.Warn("generated a development secret key; set EONPRO_SECRET_KEY in production", "path", path)
	} else if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	key := strings.TrimSpace(string(raw))
	if len(key) < 32 {
		return nil, fmt.Errorf("secret key in %s is shorter than 32 bytes", path)
	}
	return []byte(key), nil
}
