package eonpro

import (
	"context"
	"time"
)

// Rate is a limit of Count requests per Period, enforced as a GCRA (a
// smooth leaky bucket with a burst of Count).
type Rate struct {
	Count  int
	Period time.Duration
}

// RateDecision is the answer to one request against a limit.
type RateDecision struct {
	Allowed   bool
	Limit     int
	Remaining int
	// RetryAfter is how long to wait before a request would be allowed
	// (zero when Allowed).
	RetryAfter time.Duration
	// ResetAfter is how long until the bucket is full again.
	ResetAfter time.Duration
}

// RateLimiter counts requests per key. Keys name the tier and the subject
// ("strict:ip:203.0.113.9", "standard:user:…"), never PHI.
type RateLimiter interface {
	// Allow counts one request against key under rate and tells whether it
	// may proceed. Implementations shared between replicas (Redis) fall
	// back to an in-process limiter rather than failing open.
	Allow(ctx context.Context, key string, rate Rate) (RateDecision, error)
}
