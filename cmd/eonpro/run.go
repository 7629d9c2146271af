package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/jobs"
	"github.com/eonpro/eonpro/phi"
	"github.com/eonpro/eonpro/redis"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/web"
)

const usage = `Usage: eonpro <command> [flags]

Commands:
  serve     run the platform (HTTP server and background jobs)
  migrate   apply database migrations and exit
  version   print the version and commit
  clinic create --slug S --name N
            create a clinic and print its id
  user create --email E --password P [--name N] [--phone P] [--super-admin] [--clinic SLUG --role ROLE]
            create a user (optionally a member of a clinic) and print its id
  clinic destroy-keys SLUG --confirm
            destroy a clinic's PHI keys: its PHI becomes unreadable for good
  keys status
            print each clinic's key versions and how many values each protects
  keys rotate [--clinic SLUG]
            make a new key version for one or every clinic; servers re-encrypt
  audit verify [--clinic SLUG]
            check the audit hash chains against their heads and signed
            checkpoints; exit 1 naming the first bad event
  audit checkpoint
            sign the audit chain heads into the checkpoint directory
  seed demo
            create two demo clinics with people and fake patients; print the logins

Run 'eonpro <command> -h' for the flags of a command. Every flag has an
EONPRO_* environment variable; see docs/configuration.md.`

// subcommands are the second words of the commands that have one.
var subcommands = map[string][]string{
	"clinic": {"create", "destroy-keys"},
	"user":   {"create"},
	"keys":   {"rotate", "status"},
	"audit":  {"verify", "checkpoint"},
	"seed":   {"demo"},
}

// usageError is a mistake on the command line (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// Main is the program: it parses the command line, then runs a command.
// Tests use it to start the real server on port 0 with a temporary database.
type Main struct {
	Config  *Config
	Command string
	Getenv  func(string) string
	Stdout  io.Writer
	Stderr  io.Writer

	log     *slog.Logger
	db      *sqlstore.DB
	redis   *redis.Client
	queue   *jobs.Queue
	notify  eonpro.Notifier // see notifier
	server  *web.Server
	http    *http.Server
	ln      net.Listener
	serving chan error // receives http.Server.Serve's result
	// metrics serves /metrics on EONPRO_METRICS_ADDR (nil when off).
	metrics   *http.Server
	metricsLn net.Listener

	admin    adminFlags
	keyFlags keyFlags
	demo     bool // serve --demo

	auditFlags auditFlags
	audit      *sqlstore.AuditService
	// auth is the sign-in service; its Links are set once listening.
	auth     *sqlstore.AuthService
	patients *sqlstore.PatientService

	ring       *phi.KeyRing
	keys       *sqlstore.KeyService
	encryption string // master key kind, for the health report
	blobs      eonpro.BlobStore

	closeOnce sync.Once
	closeErr  error
}

// NewMain returns a Main that reads the real environment and writes to the
// process's standard streams.
func NewMain() *Main {
	return &Main{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr}
}

// ParseFlags reads the command and its flags, then loads and validates the
// configuration.
func (m *Main) ParseFlags(args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(m.Stdout, usage)
		if len(args) == 0 {
			return usageError{"a command is required"}
		}
		return flag.ErrHelp
	}
	m.Command = args[0]
	switch m.Command {
	case "serve", "migrate", "version":
	case "clinic", "user", "keys", "audit", "seed":
		if len(args) < 2 || !slices.Contains(subcommands[m.Command], args[1]) {
			return usageError{fmt.Sprintf("usage: eonpro %s %s [flags]", m.Command, strings.Join(subcommands[m.Command], "|"))}
		}
		m.Command += " " + args[1]
		args = args[1:]
	default:
		return usageError{fmt.Sprintf("unknown command %q (try 'eonpro help')", m.Command)}
	}
	fs := flag.NewFlagSet("eonpro "+m.Command, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	cfg, err := loadConfig(m.Getenv, fs)
	if err != nil {
		return err
	}
	m.admin.register(m.Command, fs)
	if m.Command == "serve" {
		fs.BoolVar(&m.demo, "demo", false, "on an empty database, create the demo clinics, people and patients")
	}
	m.keyFlags.register(m.Command, fs)
	m.auditFlags.register(m.Command, fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if m.Command == "clinic destroy-keys" {
		if err := m.keyFlags.parseDestroy(fs); err != nil {
			return err
		}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	m.Config = cfg
	if m.Command == "version" {
		return nil
	}
	return cfg.Validate()
}

// Serving reports whether Run left a server running (the serve command).
func (m *Main) Serving() bool { return m.serving != nil }

// Addr returns the address the server listens on (useful with port 0).
func (m *Main) Addr() string { return m.ln.Addr().String() }

// Run executes the command. For serve it returns once the server listens
// and is ready; Close stops it.
func (m *Main) Run(ctx context.Context) error {
	if m.Command == "version" {
		v, c := buildInfo()
		fmt.Fprintf(m.Stdout, "eonpro %s (commit %s)\n", v, c)
		return nil
	}
	m.log = newLogger(m.Stderr, m.Config.LogLevel)
	if err := m.openDB(ctx); err != nil {
		return err
	}
	switch m.Command {
	case "migrate":
		return m.migrate(ctx)
	case "clinic create", "user create":
		if err := m.migrate(ctx); err != nil {
			return err
		}
		return m.runAdmin(ctx)
	case "keys status", "keys rotate", "clinic destroy-keys":
		if err := m.migrate(ctx); err != nil {
			return err
		}
		return m.runKeys(ctx)
	case "seed demo":
		if err := m.migrate(ctx); err != nil {
			return err
		}
		if err := m.openKeys(ctx); err != nil {
			return err
		}
		if err := m.seedDemo(ctx, false); errors.Is(err, errDemoPresent) {
			return nil
		} else if err != nil {
			return describe(err)
		}
		return nil
	case "audit verify", "audit checkpoint":
		if err := m.migrate(ctx); err != nil {
			return err
		}
		return m.runAudit(ctx)
	}
	return m.serve(ctx)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(level)) // validated in Config.Validate
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl}))
}

// buildInfo returns the version and commit, from the linker or the module's
// build information.
func buildInfo() (string, string) {
	v, c := version, commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = eonpro.Version
	}
	if c == "" {
		c = eonpro.Commit
	}
	return v, c
}

func (m *Main) openDB(ctx context.Context) error {
	db, err := sqlstore.Open(ctx, sqlstore.Options{
		URL:       m.Config.DatabaseURL,
		MaxConns:  m.Config.DBMaxConns,
		SlowQuery: time.Duration(m.Config.SlowQueryMS) * time.Millisecond,
		Logger:    m.log,

		AuditFallback: m.Config.auditFallbackPath(),
	})
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	m.db = db
	return nil
}

func (m *Main) migrate(ctx context.Context) error {
	n, err := m.db.Migrate(ctx)
	if err != nil {
		return err
	}
	if err := jobs.Migrate(ctx, m.db); err != nil {
		return err
	}
	m.log.Info("migrated", "engine", string(m.db.Engine()), "applied", n)
	return nil
}
