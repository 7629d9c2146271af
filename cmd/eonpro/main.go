// Command eonpro runs the EONPRO platform: the server and its operator
// commands. main only handles signals and exit codes; Main does the rest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Set by the linker: -ldflags "-X main.version=v1.2.3 -X main.commit=abc123".
var (
	version = ""
	commit  = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	m := NewMain()
	if err := m.ParseFlags(os.Args[1:]); errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "eonpro:", err)
		os.Exit(exitCode(err))
	}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "eonpro:", err)
		m.Close()
		os.Exit(1)
	}
	if !m.Serving() {
		os.Exit(0)
	}
	<-ctx.Done()
	stop() // a second signal ends the process at once
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "eonpro:", err)
		os.Exit(1)
	}
}
