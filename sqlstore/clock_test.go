package sqlstore_test

import (
	"sync/atomic"
	"time"
)

// testClock is a clock the test moves; safe for concurrent readers.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *testClock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Add(d time.Duration) { c.ns.Add(int64(d)) }
func (c *testClock) Set(t time.Time)     { c.ns.Store(t.UnixNano()) }
