package main

import (
	"os"
	"testing"
)

// TestMain gives every server these tests start (in process or as a
// subprocess) its own free metrics port, so they never contend for the
// default 127.0.0.1:9090.
func TestMain(m *testing.M) {
	if os.Getenv("EONPRO_METRICS_ADDR") == "" {
		os.Setenv("EONPRO_METRICS_ADDR", "127.0.0.1:0")
	}
	os.Exit(m.Run())
}
