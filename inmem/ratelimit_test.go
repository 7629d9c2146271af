package inmem_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/inmem"
)

// fiveIn15m lets 5 requests through at once, then one every 3 minutes.
var fiveIn15m = eonpro.Rate{Count: 5, Period: 15 * time.Minute}

// clock is a fake eonpro.Clock that a test moves by hand.
type clock struct{ t time.Time }

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func allowed(remaining int, reset time.Duration) eonpro.RateDecision {
	return eonpro.RateDecision{Allowed: true, Limit: 5, Remaining: remaining, ResetAfter: reset}
}

func denied(retry, reset time.Duration) eonpro.RateDecision {
	return eonpro.RateDecision{Limit: 5, RetryAfter: retry, ResetAfter: reset}
}

func allow(t *testing.T, l *inmem.RateLimiter, key string, r eonpro.Rate) eonpro.RateDecision {
	t.Helper()
	d, err := l.Allow(context.Background(), key, r)
	if err != nil {
		t.Fatalf("Allow(%q, %+v): %v", key, r, err)
	}
	return d
}

func TestRateLimiterAllow(t *testing.T) {
	type step struct {
		wait time.Duration // before the request
		want eonpro.RateDecision
	}
	burst := []step{
		{0, allowed(4, 3*time.Minute)},
		{0, allowed(3, 6*time.Minute)},
		{0, allowed(2, 9*time.Minute)},
		{0, allowed(1, 12*time.Minute)},
		{0, allowed(0, 15*time.Minute)},
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"BurstThenDeny", slices.Concat(burst, []step{
			{0, denied(3*time.Minute, 15*time.Minute)},
			{0, denied(3*time.Minute, 15*time.Minute)}, // a denial costs nothing
			{time.Minute, denied(2*time.Minute, 14*time.Minute)},
		})},
		{"RefillAfterEmissionInterval", slices.Concat(burst, []step{
			{3*time.Minute - time.Second, denied(time.Second, 12*time.Minute+time.Second)},
			{time.Second, allowed(0, 15*time.Minute)},
			{0, denied(3*time.Minute, 15*time.Minute)},
		})},
		{"PartialRefill", []step{
			{0, allowed(4, 3*time.Minute)},
			{0, allowed(3, 6*time.Minute)},
			{4*time.Minute + 30*time.Second, allowed(3, 4*time.Minute+30*time.Second)},
		}},
		{"FullAfterPeriod", slices.Concat(burst, []step{
			{15 * time.Minute, allowed(4, 3*time.Minute)},
		})},
		{"NoMoreThanBurstAfterLongIdle", slices.Concat(burst, []step{{time.Hour, allowed(4, 3*time.Minute)}}, burst[1:], []step{
			{0, denied(3*time.Minute, 15*time.Minute)},
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := inmem.NewRateLimiter(c.Now, 0)
			for i, s := range tt.steps {
				c.Advance(s.wait)
				if got := allow(t, l, "strict:ip:203.0.113.9", fiveIn15m); got != s.want {
					t.Errorf("request %d: mismatch\nwant %+v\ngot  %+v", i+1, s.want, got)
				}
			}
		})
	}
}

func TestRateLimiterKeys(t *testing.T) {
	tests := []struct {
		name string
		key  string
		rate eonpro.Rate
		want eonpro.RateDecision
	}{
		{"SameKeyAndRate", "strict:ip:203.0.113.9", fiveIn15m, denied(3*time.Minute, 15*time.Minute)},
		{"OtherKey", "strict:ip:203.0.113.10", fiveIn15m, allowed(4, 3*time.Minute)},
		{"SameKeyOtherRate", "strict:ip:203.0.113.9", eonpro.Rate{Count: 10, Period: time.Minute},
			eonpro.RateDecision{Allowed: true, Limit: 10, Remaining: 9, ResetAfter: 6 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := inmem.NewRateLimiter(newClock().Now, 0)
			for range fiveIn15m.Count {
				allow(t, l, "strict:ip:203.0.113.9", fiveIn15m)
			}
			if got := allow(t, l, tt.key, tt.rate); got != tt.want {
				t.Errorf("mismatch\nwant %+v\ngot  %+v", tt.want, got)
			}
		})
	}
}

func TestRateLimiterInvalidRate(t *testing.T) {
	tests := []struct {
		name string
		rate eonpro.Rate
	}{
		{"Zero", eonpro.Rate{}},
		{"NegativeCount", eonpro.Rate{Count: -1, Period: time.Minute}},
		{"NoPeriod", eonpro.Rate{Count: 5}},
		{"IntervalUnderANanosecond", eonpro.Rate{Count: 10, Period: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := inmem.NewRateLimiter(nil, 0)
			if _, err := l.Allow(context.Background(), "k", tt.rate); err == nil {
				t.Fatal("got no error")
			}
		})
	}
}

func TestRateLimiterConcurrent(t *testing.T) {
	rate := eonpro.Rate{Count: 50, Period: time.Minute}
	l := inmem.NewRateLimiter(newClock().Now, 0)
	var wg sync.WaitGroup
	var n atomic.Int64
	for range 8 * rate.Count {
		wg.Go(func() {
			d, err := l.Allow(context.Background(), "standard:user:1", rate)
			if err != nil {
				t.Error(err)
			}
			if d.Allowed {
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if got := n.Load(); got != int64(rate.Count) {
		t.Errorf("allowed %d requests, want %d", got, rate.Count)
	}
}

func TestRateLimiterEviction(t *testing.T) {
	t.Run("DropsFullBuckets", func(t *testing.T) {
		c := newClock()
		l := inmem.NewRateLimiter(c.Now, 0)
		for i := range 1000 {
			allow(t, l, fmt.Sprintf("ip:%d", i), fiveIn15m)
		}
		c.Advance(3 * time.Minute) // one request refills in one interval
		allow(t, l, "ip:new", fiveIn15m)
		if got := l.Len(); got != 1 {
			t.Errorf("holds %d buckets, want 1", got)
		}
	})
	t.Run("KeepsBucketsNotYetFull", func(t *testing.T) {
		c := newClock()
		l := inmem.NewRateLimiter(c.Now, 0)
		allow(t, l, "ip:1", fiveIn15m)
		c.Advance(3*time.Minute - time.Nanosecond)
		allow(t, l, "ip:2", fiveIn15m)
		if got := l.Len(); got != 2 {
			t.Errorf("holds %d buckets, want 2", got)
		}
	})
	t.Run("DroppedKeyStartsFull", func(t *testing.T) {
		c := newClock()
		l := inmem.NewRateLimiter(c.Now, 0)
		for range fiveIn15m.Count {
			allow(t, l, "ip:1", fiveIn15m)
		}
		c.Advance(15 * time.Minute)
		allow(t, l, "ip:2", fiveIn15m)
		if got := l.Len(); got != 1 {
			t.Errorf("holds %d buckets, want 1", got)
		}
		if got, want := allow(t, l, "ip:1", fiveIn15m), allowed(4, 3*time.Minute); got != want {
			t.Errorf("mismatch\nwant %+v\ngot  %+v", want, got)
		}
	})
	t.Run("CapBoundsLen", func(t *testing.T) {
		l := inmem.NewRateLimiter(newClock().Now, 10)
		for i := range 1000 {
			allow(t, l, fmt.Sprintf("ip:%d", i), fiveIn15m)
			if got := l.Len(); got > 10 {
				t.Fatalf("holds %d buckets, want at most 10", got)
			}
		}
	})
	t.Run("CapDropsNearestFullFirst", func(t *testing.T) {
		l := inmem.NewRateLimiter(newClock().Now, 10)
		for range fiveIn15m.Count {
			allow(t, l, "ip:victim", fiveIn15m)
		}
		for i := range 1000 {
			allow(t, l, fmt.Sprintf("ip:%d", i), fiveIn15m)
		}
		if got := allow(t, l, "ip:victim", fiveIn15m); got.Allowed {
			t.Errorf("a flood of other keys reset the exhausted key: %+v", got)
		}
	})
}
