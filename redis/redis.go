// Package redis connects the platform to Redis, which replicas share for
// cache, rate limits and fan-out when EONPRO_REDIS_URL is set.
package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Client is a connection pool to one Redis server.
type Client struct {
	rdb *goredis.Client
}

// Open parses a redis:// or rediss:// URL and returns a client. It does not
// connect until first use; call Ping to check the server.
func Open(url string) (*Client, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis URL: %w", err)
	}
	// Rate limits sit in every request: let the request's deadline bound
	// Redis calls, and fail over to the in-process limiter quickly.
	opts.ContextTimeoutEnabled = true
	opts.DialTimeout = time.Second
	opts.ReadTimeout = 500 * time.Millisecond
	opts.WriteTimeout = 500 * time.Millisecond
	return &Client{rdb: goredis.NewClient(opts)}, nil
}

// Ping checks that Redis answers.
func (c *Client) Ping(ctx context.Context) error {
	return c.rdb.Ping(ctx).Err()
}

// Close closes the pool.
func (c *Client) Close() error { return c.rdb.Close() }
