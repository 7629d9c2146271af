package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/inmem"
	"github.com/eonpro/eonpro/jobs"
	"github.com/eonpro/eonpro/redis"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/web"
)

// serve migrates, starts the job queue and the HTTP server, and marks the
// server ready. It returns once the server accepts connections.
func (m *Main) serve(ctx context.Context) error {
	eonpro.Version, eonpro.Commit = buildInfo()
	m.log.Info("starting", "version", eonpro.Version, "commit", eonpro.Commit, "config", m.Config)
	if err := m.migrate(ctx); err != nil {
		return err
	}
	if m.Config.RedisURL != "" {
		rc, err := redis.Open(m.Config.RedisURL)
		if err != nil {
			return err
		}
		m.redis = rc
	}
	if err := m.openKeys(ctx); err != nil {
		return err
	}
	if err := m.openBlobs(ctx); err != nil {
		return err
	}
	if m.demo {
		if err := m.seedDemo(ctx, true); err != nil {
			return describe(err)
		}
	}
	m.patients = sqlstore.NewPatientService(m.db, m.ring)
	if err := m.openNotifier(ctx); err != nil {
		return err
	}
	audit, err := m.auditService(ctx, m.notifier(), m.patients)
	if err != nil {
		return err
	}
	m.audit = audit
	q, err := jobs.New(m.db, jobs.Config{PurgeInterval: m.Config.PurgeInterval, CheckpointInterval: m.Config.AuditCheckpointInterval,
		BlobSweepInterval: m.Config.BlobSweepInterval, Logger: quieter(m.log, slog.LevelWarn)},
		jobs.Services{Maintenance: sqlstore.NewMaintenanceService(m.db), Keys: m.keys, Audit: m.audit,
			Documents: sqlstore.NewDocumentService(m.db, m.ring, m.blobs, m.Config.MaxUploadBytes)})
	if err != nil {
		return err
	}
	m.queue = q
	cfg, err := m.webConfig()
	if err != nil {
		return err
	}
	m.server = web.NewServer(cfg)
	if m.ln, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.Addr, err)
	}
	// Messages link to the web app; in development it is here.
	m.auth.Links = sqlstore.Links{PublicURL: m.Config.PublicURL, BaseDomain: m.Config.BaseDomain}
	if m.auth.Links.PublicURL == "" && m.Config.Env != "production" {
		m.auth.Links.PublicURL = "http://" + dialAddr(m.ln.Addr().String())
	}
	if err := m.queue.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	m.http = &http.Server{
		Handler:           m.server,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	if err := m.serveMetrics(); err != nil {
		return err
	}
	m.serving = make(chan error, 1)
	go func() { m.serving <- m.http.Serve(m.ln) }()
	m.server.SetReady(true)
	m.log.Info("listening", "addr", m.Addr(), "engine", string(m.db.Engine()))
	return nil
}

// serveMetrics serves /metrics on a listener of its own, kept off the
// public one (EONPRO_METRICS_ADDR, a private address by default).
func (m *Main) serveMetrics() error {
	if m.Config.MetricsAddr == "off" {
		return nil
	}
	ln, err := net.Listen("tcp", m.Config.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (EONPRO_METRICS_ADDR): %w", m.Config.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.server.MetricsHandler())
	m.metricsLn = ln
	m.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn)}
	go func() { _ = m.metrics.Serve(ln) }()
	m.log.Info("metrics listening", "addr", ln.Addr().String())
	return nil
}

// MetricsAddr is the address /metrics is served on, or "" when off.
func (m *Main) MetricsAddr() string {
	if m.metricsLn == nil {
		return ""
	}
	return m.metricsLn.Addr().String()
}

func (m *Main) webConfig() (web.Config, error) {
	secret, err := m.Config.secretKey(m.log)
	if err != nil {
		return web.Config{}, err
	}
	notify := m.notifier()
	auth, err := sqlstore.NewAuthService(m.db, notify, secret)
	if err != nil {
		return web.Config{}, err
	}
	m.auth = auth
	var limiter eonpro.RateLimiter = inmem.NewRateLimiter(nil, 100_000)
	if m.redis != nil {
		limiter = redis.NewRateLimiter(m.redis, limiter, m.log)
	}
	cfg := web.Config{
		Auth:           auth,
		Clinics:        sqlstore.NewClinicService(m.db),
		Users:          sqlstore.NewUserService(m.db, notify, auth),
		Limiter:        limiter,
		Rates:          m.Config.Rates(),
		BaseDomain:     m.Config.BaseDomain,
		SecureCookies:  m.Config.Env == "production",
		MaxBodyBytes:   m.Config.MaxBodyBytes,
		HealthToken:    m.Config.HealthToken,
		MetricsToken:   m.Config.MetricsToken,
		Logger:         m.log,
		Registry:       prometheus.NewRegistry(),
		DBEngine:       string(m.db.Engine()),
		PingDB:         m.db.Ping,
		DBPools:        m.poolStats,
		JobCounts:      m.queue.Counts,
		Encryption:     m.encryption,
		Audit:          m.audit,
		Patients:       m.patients,
		Providers:      sqlstore.NewProviderService(m.db),
		Documents:      sqlstore.NewDocumentService(m.db, m.ring, m.blobs, m.Config.MaxUploadBytes),
		MaxUploadBytes: m.Config.MaxUploadBytes,
		Consents:       sqlstore.NewConsentService(m.db, m.ring),
		Jobs:           m.queue,
		Outbox:         m.devOutbox(),
		Integrations:   m.Config.Integrations(),
	}
	if m.redis != nil {
		cfg.PingRedis = m.redis.Ping
	}
	return cfg, nil
}

func (m *Main) poolStats() []web.PoolStat {
	var out []web.PoolStat
	for _, s := range m.db.Stats() {
		out = append(out, web.PoolStat{Pool: s.Pool, Open: s.Open, InUse: s.InUse, Idle: s.Idle, Max: s.Max})
	}
	return out
}

// Close shuts down gracefully: readiness turns 503 at once, in-flight
// requests get up to the shutdown timeout to finish, then the workers stop
// and the connections close. It is safe to call after a failed Run, and
// more than once.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	var errs []error
	if m.server != nil {
		m.server.SetReady(false)
	}
	timeout := 30 * time.Second
	if m.Config != nil {
		timeout = m.Config.ShutdownTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if m.http != nil {
		m.log.Info("shutting down", "timeout", timeout.String())
		errs = append(errs, m.http.Shutdown(ctx))
		if err := <-m.serving; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	} else if m.ln != nil {
		errs = append(errs, m.ln.Close())
	}
	if m.metrics != nil {
		errs = append(errs, m.metrics.Shutdown(ctx))
	}
	if m.auth != nil {
		m.auth.Wait() // messages sent after answering, before the database closes
	}
	if m.queue != nil {
		errs = append(errs, m.queue.Stop(ctx))
	}
	if m.redis != nil {
		errs = append(errs, m.redis.Close())
	}
	if c, ok := m.blobs.(io.Closer); ok {
		errs = append(errs, c.Close())
	}
	if m.db != nil {
		errs = append(errs, m.db.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if m.log != nil {
		m.log.Info("stopped")
	}
	return nil
}

// quieter returns a logger that drops records below min, for chatty
// libraries (River reports its queue every few seconds at info).
func quieter(log *slog.Logger, min slog.Level) *slog.Logger {
	return slog.New(minLevel{log.Handler(), min})
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
