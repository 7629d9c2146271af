// Package inmem holds the single-node, in-process implementations of the
// services that Redis provides when replicas share state: rate limits for now.
package inmem

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/eonpro/eonpro"
)

// DefaultMaxKeys is the number of keys a RateLimiter holds when its
// constructor is given no cap. A bucket costs a few hundred bytes, so the
// default bounds the limiter to tens of megabytes under a flood of keys.
const DefaultMaxKeys = 100_000

// RateLimiter is an eonpro.RateLimiter for one process: a token bucket per
// key and rate from golang.org/x/time/rate, which with a burst of Count and
// one token every Period/Count behaves as the GCRA the interface describes.
// It is safe for concurrent use.
//
// Memory is bounded two ways. A bucket that has refilled completely is
// dropped on the next call, as a new bucket would be the same. When the cap
// is reached anyway, the bucket nearest to full is dropped first, so a flood
// of new keys resets the counters that are least in use and not the ones of
// a key being hammered.
type RateLimiter struct {
	now     eonpro.Clock
	maxKeys int

	mu      sync.Mutex
	buckets map[bucketKey]*bucket
	byFull  fullHeap // the same buckets, soonest full first
}

// bucketKey keeps the same key under two rates apart, as a tier that
// changes its rate must not inherit the state of another.
type bucketKey struct {
	key  string
	rate eonpro.Rate
}

type bucket struct {
	key    bucketKey
	lim    *rate.Limiter
	fullAt time.Time // when the bucket will have refilled completely
	index  int       // position in the heap
}

// NewRateLimiter returns an empty limiter that tells time with clock (nil
// means eonpro.SystemClock) and holds at most maxKeys buckets (0 or less
// means DefaultMaxKeys).
func NewRateLimiter(clock eonpro.Clock, maxKeys int) *RateLimiter {
	if clock == nil {
		clock = eonpro.SystemClock
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &RateLimiter{now: clock, maxKeys: maxKeys, buckets: make(map[bucketKey]*bucket)}
}

// Allow counts one request against key under r. It returns an error only
// for a rate with no Count or an emission interval under a nanosecond.
func (l *RateLimiter) Allow(_ context.Context, key string, r eonpro.Rate) (eonpro.RateDecision, error) {
	if r.Count <= 0 || r.Period < time.Duration(r.Count) {
		return eonpro.RateDecision{}, fmt.Errorf("rate limit: invalid rate of %d per %s", r.Count, r.Period)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// The clock is read under the lock so the buckets only see it go forward.
	now := l.now()
	l.dropFull(now)
	b := l.bucket(bucketKey{key: key, rate: r}, now)
	allowed := b.lim.AllowN(now, 1)
	d := decide(allowed, b.lim.TokensAt(now), r)
	b.fullAt = now.Add(d.ResetAfter)
	heap.Fix(&l.byFull, b.index)
	return d, nil
}

// Len reports how many buckets the limiter holds.
func (l *RateLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// bucket returns the bucket for k, making room for it at the cap.
func (l *RateLimiter) bucket(k bucketKey, now time.Time) *bucket {
	if b, ok := l.buckets[k]; ok {
		return b
	}
	if len(l.buckets) >= l.maxKeys {
		delete(l.buckets, heap.Pop(&l.byFull).(*bucket).key)
	}
	interval := k.rate.Period / time.Duration(k.rate.Count)
	b := &bucket{key: k, lim: rate.NewLimiter(rate.Every(interval), k.rate.Count), fullAt: now}
	l.buckets[k] = b
	heap.Push(&l.byFull, b)
	return b
}

// dropFull forgets the buckets that have refilled by now.
func (l *RateLimiter) dropFull(now time.Time) {
	for len(l.byFull) > 0 && !l.byFull[0].fullAt.After(now) {
		delete(l.buckets, heap.Pop(&l.byFull).(*bucket).key)
	}
}

// decide describes a bucket holding tokens after a request was allowed or
// denied. Durations are rounded to the nanosecond; the Retry-After header
// rounds up to whole seconds anyway.
func decide(allowed bool, tokens float64, r eonpro.Rate) eonpro.RateDecision {
	interval := float64(r.Period / time.Duration(r.Count))
	d := eonpro.RateDecision{
		Allowed:    allowed,
		Limit:      r.Count,
		Remaining:  max(0, int(math.Floor(tokens))),
		ResetAfter: time.Duration(math.Round((float64(r.Count) - tokens) * interval)),
	}
	if !allowed {
		d.RetryAfter = time.Duration(math.Round((1 - tokens) * interval))
	}
	return d
}

// fullHeap orders buckets by the time they will be full, for container/heap.
type fullHeap []*bucket

func (h fullHeap) Len() int           { return len(h) }
func (h fullHeap) Less(i, j int) bool { return h[i].fullAt.Before(h[j].fullAt) }

func (h fullHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *fullHeap) Push(x any) {
	b := x.(*bucket)
	b.index = len(*h)
	*h = append(*h, b)
}

func (h *fullHeap) Pop() any {
	old := *h
	b := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return b
}
