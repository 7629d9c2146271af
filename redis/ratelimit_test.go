package redis_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/inmem"
	"github.com/eonpro/eonpro/redis"
)

// fivePerMinute lets 5 requests through at once, then one every 12 seconds.
// The short period lets the test keys expire from Redis within a minute.
var fivePerMinute = eonpro.Rate{Count: 5, Period: time.Minute}

// testURL returns EONPRO_TEST_REDIS_URL, skipping the test when it is not
// set, unless CI=true.
func testURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("EONPRO_TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but EONPRO_TEST_REDIS_URL is not set")
		}
		t.Skip("EONPRO_TEST_REDIS_URL is not set")
	}
	return u
}

// open connects to the test Redis.
func open(t *testing.T) *redis.Client {
	t.Helper()
	c, err := redis.Open(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("ping test Redis: %v", err)
	}
	return c
}

// testKey returns a key no other test run uses.
func testKey() string { return "test:" + rand.Text() + ":ip:203.0.113.9" }

func allow(t *testing.T, l eonpro.RateLimiter, key string) eonpro.RateDecision {
	t.Helper()
	d, err := l.Allow(context.Background(), key, fivePerMinute)
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	return d
}

func TestRateLimiter(t *testing.T) {
	interval := fivePerMinute.Period / time.Duration(fivePerMinute.Count)
	t.Run("BurstThenDeny", func(t *testing.T) {
		l := redis.NewRateLimiter(open(t), nil, nil)
		key := testKey()
		for i := range fivePerMinute.Count {
			d := allow(t, l, key)
			if want := fivePerMinute.Count - 1 - i; !d.Allowed || d.Remaining != want || d.RetryAfter != 0 || d.Limit != 5 {
				t.Fatalf("request %d: got %+v, want allowed with %d remaining", i+1, d, want)
			}
			if want := time.Duration(i+1) * interval; !near(d.ResetAfter, want) {
				t.Errorf("request %d: ResetAfter %s, want about %s", i+1, d.ResetAfter, want)
			}
		}
		d := allow(t, l, key)
		if d.Allowed || d.Remaining != 0 {
			t.Fatalf("request 6: got %+v, want denied", d)
		}
		if !near(d.RetryAfter, interval) || !near(d.ResetAfter, fivePerMinute.Period) {
			t.Errorf("request 6: got RetryAfter %s and ResetAfter %s, want about %s and %s",
				d.RetryAfter, d.ResetAfter, interval, fivePerMinute.Period)
		}
	})
	t.Run("SharedBetweenReplicas", func(t *testing.T) {
		replicas := []*redis.RateLimiter{
			redis.NewRateLimiter(open(t), nil, nil),
			redis.NewRateLimiter(open(t), nil, nil),
		}
		key := testKey()
		var n int
		for i := range 4 * fivePerMinute.Count {
			if allow(t, replicas[i%2], key).Allowed {
				n++
			}
		}
		if n != fivePerMinute.Count {
			t.Errorf("allowed %d requests across two replicas, want %d", n, fivePerMinute.Count)
		}
	})
	t.Run("SameKeyOtherRate", func(t *testing.T) {
		l := redis.NewRateLimiter(open(t), nil, nil)
		key := testKey()
		for range fivePerMinute.Count {
			allow(t, l, key)
		}
		d, err := l.Allow(context.Background(), key, eonpro.Rate{Count: 10, Period: time.Minute})
		if err != nil || !d.Allowed || d.Remaining != 9 {
			t.Errorf("got %+v, %v; want allowed with 9 remaining", d, err)
		}
	})
}

// near reports whether got is within a second under want, the time the
// requests before it may have taken.
func near(got, want time.Duration) bool { return got <= want && got > want-time.Second }

func TestRateLimiterFallback(t *testing.T) {
	down, err := redis.Open("redis://127.0.0.1:1/0") // nothing listens on port 1
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { down.Close() })
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	fallback := inmem.NewRateLimiter(func() time.Time { return now }, 0)
	var logs bytes.Buffer
	l := redis.NewRateLimiter(down, fallback, slog.New(slog.NewTextHandler(&logs, nil)))

	key := testKey()
	allow(t, l, "test:warm-up") // go-redis retries the dial for about a second
	start := time.Now()
	for i := range fivePerMinute.Count {
		if d := allow(t, l, key); !d.Allowed || d.Remaining != fivePerMinute.Count-1-i {
			t.Fatalf("request %d: got %+v, want allowed with %d remaining", i+1, d, fivePerMinute.Count-1-i)
		}
	}
	want := eonpro.RateDecision{Limit: 5, RetryAfter: 12 * time.Second, ResetAfter: time.Minute}
	for i := range 3 {
		if d := allow(t, l, key); d != want {
			t.Errorf("request %d: mismatch\nwant %+v\ngot  %+v", fivePerMinute.Count+1+i, want, d)
		}
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("8 requests took %s; after a failure the limiter should not ask Redis again at once", d)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("logged %d warnings, want 1:\n%s", n, &logs)
	}
}

func TestRateLimiterRecovers(t *testing.T) {
	t.Parallel() // it waits out the pause between probes
	u, err := url.Parse(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target, addr := u.Host, ln.Addr().String()
	ln.Close() // Redis is down until the proxy listens on addr again
	u.Host = addr
	c, err := redis.Open(u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	fallback := inmem.NewRateLimiter(func() time.Time { return now }, 0)
	var logs bytes.Buffer
	l := redis.NewRateLimiter(c, fallback, slog.New(slog.NewTextHandler(&logs, nil)))
	key := testKey()

	for i := range 2 {
		if d := allow(t, l, key); d.Remaining != 4-i {
			t.Fatalf("request %d while down: got %+v, want %d remaining from the fallback", i+1, d, 4-i)
		}
	}
	proxy(t, addr, target)
	if d := allow(t, l, key); d.Remaining != 2 {
		t.Fatalf("request before the next probe: got %+v, want 2 remaining from the fallback", d)
	}
	time.Sleep(5*time.Second + 100*time.Millisecond) // redisProbeEvery
	if d := allow(t, l, key); d.Remaining != 4 {
		t.Fatalf("request after the probe: got %+v, want 4 remaining from Redis", d)
	}
	if !strings.Contains(logs.String(), "recovered") {
		t.Errorf("logged no recovery:\n%s", &logs)
	}
}

// proxy forwards connections to addr on to target until the test ends.
func proxy(t *testing.T, addr, target string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
}
