// Package eonpro is the domain vocabulary of the EONPRO telehealth platform:
// its types, service interfaces, error codes and context helpers. It imports
// no database driver and no net/http; the packages beside it implement it.
package eonpro

import "time"

// Build information, set by the linker (see cmd/eonpro).
var (
	// Version is the released version, or "dev" for a local build.
	Version = "dev"
	// Commit is the VCS revision the binary was built from.
	Commit = "unknown"
)

// Clock tells the time. Services take one so tests can fix it.
type Clock func() time.Time

// SystemClock is the real clock, in UTC.
func SystemClock() time.Time { return time.Now().UTC() }
