package eonpro

import "time"

// APIKey lets a program call the API for one clinic with a fixed set of
// permissions. Key holds the secret only in the answer to its creation.
type APIKey struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Prefix      string       `json:"prefix"`
	Permissions []Permission `json:"permissions"`
	CreatedBy   string       `json:"created_by"`
	CreatedAt   time.Time    `json:"created_at"`
	LastUsedAt  *time.Time   `json:"last_used_at"`
	RevokedAt   *time.Time   `json:"revoked_at,omitempty"`
	Key         string       `json:"key,omitempty"`
}
