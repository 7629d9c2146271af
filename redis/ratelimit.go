package redis

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/inmem"
)

// rateKeyPrefix namespaces rate limits among the platform's Redis keys.
// redis_rate puts its own "rate:" in front of it.
const rateKeyPrefix = "eonpro:rl:"

// fallbackWarnEvery spaces the warnings while Redis is unreachable.
const fallbackWarnEvery = time.Minute

// redisProbeEvery is how long the limiter answers from the fallback after
// Redis fails before it asks Redis again. go-redis spends about a second
// retrying the dial to a down server; without the pause every request would.
const redisProbeEvery = 5 * time.Second

// RateLimiter is an eonpro.RateLimiter that replicas share: a GCRA run as a
// Lua script in Redis by redis_rate. When Redis fails it does not fail
// open; it answers from an in-process limiter, so each replica enforces the
// whole limit on the requests it sees (N replicas let through up to N times
// the limit), and asks Redis again every redisProbeEvery with one request.
type RateLimiter struct {
	limiter  *redis_rate.Limiter
	fallback eonpro.RateLimiter
	log      *slog.Logger

	downUntil atomic.Int64 // Unix nanoseconds before which Redis is not asked; 0 while it answers
	lastWarn  atomic.Int64 // Unix nanoseconds of the last warning
	fallbacks atomic.Int64 // answers from the fallback since then
}

// NewRateLimiter returns a limiter on c. fallback answers while Redis
// fails; nil means a new inmem.RateLimiter. log nil means slog.Default().
func NewRateLimiter(c *Client, fallback eonpro.RateLimiter, log *slog.Logger) *RateLimiter {
	if fallback == nil {
		fallback = inmem.NewRateLimiter(nil, 0)
	}
	if log == nil {
		log = slog.Default()
	}
	return &RateLimiter{limiter: redis_rate.NewLimiter(c.rdb), fallback: fallback, log: log}
}

// Allow counts one request against key under r. It returns an error only
// for an invalid rate; a Redis failure is logged and the fallback answers.
func (l *RateLimiter) Allow(ctx context.Context, key string, r eonpro.Rate) (eonpro.RateDecision, error) {
	if r.Count <= 0 || r.Period < time.Duration(r.Count) {
		return eonpro.RateDecision{}, fmt.Errorf("rate limit: invalid rate of %d per %s", r.Count, r.Period)
	}
	if !l.askRedis() {
		l.fallbacks.Add(1)
		return l.fallback.Allow(ctx, key, r)
	}
	limit := redis_rate.Limit{Rate: r.Count, Burst: r.Count, Period: r.Period}
	res, err := l.limiter.Allow(ctx, rateKey(key, r), limit)
	if err != nil {
		l.fallbacks.Add(1)
		// A request given up by its client says nothing about Redis.
		if ctx.Err() == nil {
			l.markDown(err)
		}
		return l.fallback.Allow(ctx, key, r)
	}
	if l.downUntil.Load() != 0 && l.downUntil.Swap(0) != 0 {
		l.log.Info("redis rate limiter recovered", "fallbacks", l.fallbacks.Swap(0))
	}
	d := eonpro.RateDecision{
		Allowed:    res.Allowed > 0,
		Limit:      r.Count,
		Remaining:  res.Remaining,
		ResetAfter: res.ResetAfter,
	}
	if res.RetryAfter > 0 { // -1 when allowed
		d.RetryAfter = res.RetryAfter
	}
	return d, nil
}

// rateKey names the Redis key of key under r. The rate is part of it, as in
// inmem, so that a key counted under two rates keeps two states; a rate
// holds no colon, so the name is unambiguous.
func rateKey(key string, r eonpro.Rate) string {
	return fmt.Sprintf("%s%d/%s:%s", rateKeyPrefix, r.Count, r.Period, key)
}

// askRedis reports whether this request goes to Redis: always while Redis
// answers; after a failure, only the one request that claims each probe.
func (l *RateLimiter) askRedis() bool {
	until := l.downUntil.Load()
	if until == 0 {
		return true
	}
	now := time.Now().UnixNano()
	return now >= until && l.downUntil.CompareAndSwap(until, now+int64(redisProbeEvery))
}

// markDown stops asking Redis for redisProbeEvery and logs err unless a
// warning went out in the last fallbackWarnEvery.
func (l *RateLimiter) markDown(err error) {
	now := time.Now().UnixNano()
	l.downUntil.Store(now + int64(redisProbeEvery))
	last := l.lastWarn.Load()
	if now-last < int64(fallbackWarnEvery) || !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn("redis rate limiter unavailable; using in-process limits",
		"err", err, "fallbacks", l.fallbacks.Swap(0), "retry_every", redisProbeEvery)
}
