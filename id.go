package eonpro

import "github.com/google/uuid"

// NewID returns a new UUIDv7 id: unique, and ordered by creation time, so
// indexes on ids stay compact.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}
