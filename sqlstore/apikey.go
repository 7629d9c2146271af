package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eonpro/eonpro"
)

// API keys look like ek_<prefix>_<secret>: the prefix finds the row, the
// secret is checked against its stored SHA-256.
const apiKeyPrefix = "ek_"

var (
	insertAPIKey = Stmt{Name: "insert_api_key", SQL: `
INSERT INTO api_keys (id, clinic_id, name, prefix, secret_hash, permissions, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`}
	selectAPIKeys = Stmt{Name: "select_api_keys", SQL: `
SELECT id, name, prefix, permissions, created_by, created_at, last_used_at, revoked_at
FROM api_keys
WHERE clinic_id = $1
ORDER BY created_at DESC`}
	revokeAPIKeyRow = Stmt{Name: "revoke_api_key", SQL: `
UPDATE api_keys SET revoked_at = $3 WHERE clinic_id = $1 AND id = $2 AND revoked_at IS NULL`}
	selectAPIKeyByPrefix = Stmt{Name: "select_api_key_by_prefix", SQL: `
SELECT k.id, k.clinic_id, k.secret_hash, k.permissions, k.created_by, k.last_used_at, u.status
FROM api_keys k
JOIN users u ON u.id = k.created_by
WHERE k.prefix = $1 AND k.revoked_at IS NULL`}
	touchAPIKey = Stmt{Name: "touch_api_key", SQL: `
UPDATE api_keys SET last_used_at = $2 WHERE id = $1`}
)

// CreateAPIKey makes a key for the clinic of the request with at most the
// creator's permissions. The key is in the result once, never again.
func (s *AuthService) CreateAPIKey(ctx context.Context, name string, perms []eonpro.Permission) (*eonpro.APIKey, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermAPIKeysManage) || p.APIKeyID != "" {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not create API keys.")
	}
	fields := map[string]string{}
	name, clean := eonpro.CleanText(name)
	if !clean {
		fields["name"] = eonpro.InvisibleTextMessage
	} else if name == "" || len(name) > 100 {
		fields["name"] = "must be 1 to 100 characters"
	}
	if len(perms) == 0 {
		fields["permissions"] = "must list at least one permission"
	}
	for _, perm := range perms {
		if !p.Can(perm) {
			fields["permissions"] = fmt.Sprintf("%q is not a permission you hold", perm)
		}
	}
	if len(fields) > 0 {
		return nil, &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are invalid.", Fields: fields}
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	prefix := hex.EncodeToString(b)
	secret, hash := newToken()
	k := &eonpro.APIKey{ID: eonpro.NewID(), Name: name, Prefix: prefix, Permissions: slices.Compact(slices.Sorted(slices.Values(perms))),
		CreatedBy: p.UserID, CreatedAt: s.db.Now(), Key: apiKeyPrefix + prefix + "_" + secret}
	permJSON, _ := json.Marshal(k.Permissions)
	err := s.db.InClinic(ctx, p.ClinicID, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, insertAPIKey, k.ID, p.ClinicID, k.Name, prefix, hash, string(permJSON), p.UserID, k.CreatedAt); err != nil {
			return err
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionAPIKeyCreated, ResourceType: "api_key", ResourceID: k.ID,
			Detail: map[string]string{"prefix": prefix, "permissions": string(permJSON)}})
	})
	if err != nil {
		return nil, fmt.Errorf("create api key: %w", err)
	}
	return k, nil
}

// FindAPIKeys lists the clinic's keys, without secrets.
func (s *AuthService) FindAPIKeys(ctx context.Context) ([]*eonpro.APIKey, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermAPIKeysManage) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not list API keys.")
	}
	var out []*eonpro.APIKey
	err := s.db.ViewClinic(ctx, p.ClinicID, func(tx *Tx) (err error) {
		out, err = queryAll(ctx, tx, selectAPIKeys, scanAPIKey, p.ClinicID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey revokes a key of the clinic of the request. ENOTFOUND.
func (s *AuthService) RevokeAPIKey(ctx context.Context, id string) error {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermAPIKeysManage) {
		return eonpro.Errorf(eonpro.EFORBIDDEN, "You may not revoke API keys.")
	}
	return s.db.InClinic(ctx, p.ClinicID, func(tx *Tx) error {
		n, err := tx.Exec(ctx, revokeAPIKeyRow, p.ClinicID, id, s.db.Now())
		if err != nil {
			return err
		}
		if n == 0 {
			return eonpro.Errorf(eonpro.ENOTFOUND, "API key not found.")
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionAPIKeyRevoked, ResourceType: "api_key", ResourceID: id})
	})
}

// authenticateAPIKey resolves ek_<prefix>_<secret> to a principal scoped to
// the key's clinic. Its permissions are the key's, narrowed to what its
// creator's role still grants (in the web layer, with the membership).
func (s *AuthService) authenticateAPIKey(ctx context.Context, key string) (*eonpro.Principal, error) {
	bad := eonpro.Errorf(eonpro.EUNAUTHN, "The API key is invalid or revoked.")
	prefix, secret, ok := strings.Cut(strings.TrimPrefix(key, apiKeyPrefix), "_")
	if !ok || len(prefix) != 10 {
		return nil, bad
	}
	var p eonpro.Principal
	err := s.db.InTx(ctx, func(tx *Tx) error {
		var hash []byte
		var perms, status string
		var lastUsed *time.Time
		err := tx.QueryRow(ctx, selectAPIKeyByPrefix, prefix).Scan(&p.APIKeyID, &p.ClinicID, &hash, &perms, &p.UserID, &lastUsed, &status)
		if err == ErrNoRows || (err == nil && (!constantEqual(hash, hashToken(secret)) || status != eonpro.UserActive)) {
			return bad
		} else if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(perms), &p.Permissions); err != nil {
			return err
		}
		if now := s.db.Now(); lastUsed == nil || now.Sub(*lastUsed) >= touchEvery {
			_, err = tx.Exec(ctx, touchAPIKey, p.APIKeyID, now)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func scanAPIKey(rows scanner) (*eonpro.APIKey, error) {
	var k eonpro.APIKey
	var perms string
	if err := rows.Scan(&k.ID, &k.Name, &k.Prefix, &perms, &k.CreatedBy, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt); err != nil {
		return nil, err
	}
	return &k, json.Unmarshal([]byte(perms), &k.Permissions)
}
