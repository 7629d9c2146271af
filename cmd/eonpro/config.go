package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/web"
)

// Config is every setting of the platform. Each field names its environment
// variable, its default and, when it has one, its command-line flag; flags
// win over the environment. Secret fields are masked when logged.
// docs/configuration.md is generated from these tags (see config_test.go).
type Config struct {
	Env                 string        `env:"EONPRO_ENV" default:"development" help:"development, test or production; production refuses to start without its secrets"`
	Addr                string        `env:"EONPRO_ADDR" flag:"addr" default:":8080" help:"address the HTTP server listens on"`
	DatabaseURL         string        `env:"EONPRO_DATABASE_URL" flag:"database-url" default:"sqlite:data/eonpro.db" secret:"url" help:"sqlite:PATH, or a postgres:// (postgresql://) URL"`
	AllowInsecureDB     bool          `env:"EONPRO_ALLOW_INSECURE_DB" default:"false" help:"in production, allow a PostgreSQL URL with sslmode=disable or allow"`
	DBMaxConns          int           `env:"EONPRO_DB_MAX_CONNS" default:"0" help:"PostgreSQL pool size; 0 means 2×CPU+1"`
	SlowQueryMS         int           `env:"EONPRO_SLOW_QUERY_MS" default:"200" help:"statements slower than this are logged by name (never with arguments)"`
	RedisURL            string        `env:"EONPRO_REDIS_URL" flag:"redis-url" secret:"url" help:"optional redis:// or rediss:// URL, shared by replicas"`
	LogLevel            string        `env:"EONPRO_LOG_LEVEL" flag:"log-level" default:"info" help:"debug, info, warn or error"`
	MaxBodyBytes        int64         `env:"EONPRO_MAX_BODY_BYTES" default:"1048576" help:"largest accepted request body (413 beyond)"`
	ShutdownTimeout     time.Duration `env:"EONPRO_SHUTDOWN_TIMEOUT" default:"30s" help:"how long in-flight requests and jobs get to finish on SIGTERM"`
	PurgeInterval       time.Duration `env:"EONPRO_PURGE_INTERVAL" default:"1h" help:"how often expired sessions and tokens are purged"`
	DataDir             string        `env:"EONPRO_DATA_DIR" default:"data" help:"directory for local files: the development secret and master keys"`
	SecretKey           string        `env:"EONPRO_SECRET_KEY" secret:"true" help:"at least 32 bytes; root of the token-signing, HMAC and 2FA-secret keys. Required in production; in development one is generated into EONPRO_DATA_DIR/secret.key"`
	MasterKey           string        `env:"EONPRO_MASTER_KEY" secret:"true" help:"base64 of 32 random bytes (openssl rand -base64 32): the master key that wraps every clinic's PHI data keys. Production needs this, EONPRO_MASTER_KEY_FILE or EONPRO_KMS_KEY_ID; in development one is generated into EONPRO_DATA_DIR/master.key"`
	MasterKeyFile       string        `env:"EONPRO_MASTER_KEY_FILE" help:"file holding the master key as base64 of 32 bytes (a mounted secret)"`
	KMSKeyID            string        `env:"EONPRO_KMS_KEY_ID" help:"AWS KMS key id, ARN or alias that wraps the clinic data keys instead of a local master key; region EONPRO_AWS_REGION, credentials from the AWS default chain"`
	KMSEndpoint         string        `env:"EONPRO_KMS_ENDPOINT" help:"KMS endpoint URL, for a local KMS (tests, LocalStack)"`
	PublicURL           string        `env:"EONPRO_PUBLIC_URL" help:"where people reach the web app (https://app.example.com): invitation and password-reset messages link to it (to SLUG.EONPRO_BASE_DOMAIN when that is set). In development it defaults to http://localhost:PORT; in production without it the messages carry only their codes"`
	BaseDomain          string        `env:"EONPRO_BASE_DOMAIN" help:"clinics are reached at SLUG.BASE_DOMAIN (e.g. eonpro.app); custom domains are set per clinic"`
	RateStrict          string        `env:"EONPRO_RATE_LIMIT_STRICT" default:"5/15m" help:"sign-in, 2FA, password reset and phone codes, per IP and route (COUNT/DURATION)"`
	RateStandard        string        `env:"EONPRO_RATE_LIMIT_STANDARD" default:"300/1m" help:"the authenticated API and the web app's pages, per user or API key (COUNT/DURATION); a person working in the web app makes several requests a minute (pages, search as you type, the idle keep-alive)"`
	RateRelaxed         string        `env:"EONPRO_RATE_LIMIT_RELAXED" default:"200/1m" help:"health and static reads, per IP (COUNT/DURATION)"`
	HealthToken         string        `env:"EONPRO_HEALTH_TOKEN" secret:"true" help:"bearer token for GET /api/health?full=true"`
	RateFailedAuth      string        `env:"EONPRO_RATE_LIMIT_FAILED_AUTH" default:"30/1m" help:"presented credentials (session cookies, tokens, API keys) that failed, per IP; beyond, 429 (COUNT/DURATION)"`
	MetricsAddr         string        `env:"EONPRO_METRICS_ADDR" default:"127.0.0.1:9090" help:"listen address of GET /metrics, kept off the public listener: a private address, or off"`
	MetricsToken        string        `env:"EONPRO_METRICS_TOKEN" secret:"true" help:"bearer token that also serves GET /metrics on the public listener (refused in production)"`
	StripeKey           string        `env:"EONPRO_STRIPE_SECRET_KEY" secret:"true" help:"Stripe secret key (integration: stripe)"`
	TwilioToken         string        `env:"EONPRO_TWILIO_AUTH_TOKEN" secret:"true" help:"Twilio auth token (integration: twilio): texts go out through Twilio's Messages API instead of the development outbox"`
	SESFrom             string        `env:"EONPRO_SES_FROM" help:"sender of e-mail through AWS SES v2 (an identity verified in SES, like \"Clinic <no-reply@example.com>\"); region EONPRO_AWS_REGION, credentials from the AWS default chain. Unset: e-mail goes to the development outbox"`
	SESEndpoint         string        `env:"EONPRO_SES_ENDPOINT" help:"SES API address for a VPC endpoint or a test double (default AWS's own)"`
	SESConfigurationSet string        `env:"EONPRO_SES_CONFIGURATION_SET" help:"SES configuration set for sending events (optional)"`
	TwilioAccountSID    string        `env:"EONPRO_TWILIO_ACCOUNT_SID" help:"Twilio account SID (AC…), with EONPRO_TWILIO_AUTH_TOKEN"`
	TwilioFrom          string        `env:"EONPRO_TWILIO_FROM" help:"the sender of texts: an E.164 number or a Messaging Service SID (MG…), with EONPRO_TWILIO_AUTH_TOKEN"`
	TwilioBaseURL       string        `env:"EONPRO_TWILIO_BASE_URL" help:"Twilio API address for a test double (default Twilio's own)"`
	LifefileKey         string        `env:"EONPRO_LIFEFILE_API_KEY" secret:"true" help:"Lifefile pharmacy API key (integration: lifefile)"`
	AWSRegion           string        `env:"EONPRO_AWS_REGION" help:"AWS region for S3, SES and KMS (integration: aws)"`
	OpenAIKey           string        `env:"EONPRO_OPENAI_API_KEY" secret:"true" help:"OpenAI API key (integration: openai)"`
	ZoomSecret          string        `env:"EONPRO_ZOOM_CLIENT_SECRET" secret:"true" help:"Zoom OAuth client secret (integration: zoom)"`

	AuditFallback           string        `env:"EONPRO_AUDIT_FALLBACK" help:"JSON-lines file that receives audit events the database could not store (the request fails either way); default EONPRO_DATA_DIR/audit-fallback.jsonl"`
	AuditSigningKeyFile     string        `env:"EONPRO_AUDIT_SIGNING_KEY_FILE" help:"PEM (PKCS #8) Ed25519 private key that signs audit checkpoints, kept outside the database (openssl genpkey -algorithm ed25519). Required in production; in development one is generated into EONPRO_DATA_DIR/audit-signing.key"`
	AuditCheckpointDir      string        `env:"EONPRO_AUDIT_CHECKPOINT_DIR" help:"directory the signed audit checkpoints are written to, on storage the database's administrators cannot rewrite; default EONPRO_DATA_DIR/audit-checkpoints"`
	AuditCheckpointInterval time.Duration `env:"EONPRO_AUDIT_CHECKPOINT_INTERVAL" default:"15m" help:"how often the audit chain heads are signed into a checkpoint (at least 1m); audit verify fails a chain with events older than twice this whose newest checkpoint is that old too"`
	AuditAnchorFile         string        `env:"EONPRO_AUDIT_ANCHOR_FILE" help:"append-only JSON-lines file that also receives every audit checkpoint (make it append-only: chattr +a); default EONPRO_DATA_DIR/audit-anchor.jsonl unless EONPRO_AUDIT_ANCHOR_S3_BUCKET is set, then only when set"`
	AuditAnchorS3Bucket     string        `env:"EONPRO_AUDIT_ANCHOR_S3_BUCKET" help:"S3 bucket created with Object Lock that also receives every audit checkpoint as a locked object; region EONPRO_AWS_REGION, endpoint EONPRO_S3_ENDPOINT, credentials from the AWS default chain"`
	AuditAnchorS3Prefix     string        `env:"EONPRO_AUDIT_ANCHOR_S3_PREFIX" default:"audit-checkpoints" help:"key prefix of the checkpoint objects: PREFIX/CLINIC-ID-or-platform/SEQ-TIME.json"`
	AuditAnchorLockMode     string        `env:"EONPRO_AUDIT_ANCHOR_LOCK_MODE" default:"COMPLIANCE" help:"Object Lock mode of the checkpoint objects: COMPLIANCE (no one can delete them before their retention ends) or GOVERNANCE (accounts with s3:BypassGovernanceRetention can)"`
	AuditAnchorRetainDays   int           `env:"EONPRO_AUDIT_ANCHOR_RETENTION_DAYS" default:"2190" help:"days each checkpoint object stays locked (default six years, the HIPAA retention of documentation)"`

	MaxUploadBytes int64  `env:"EONPRO_MAX_UPLOAD_BYTES" default:"20971520" help:"largest accepted patient document (413 beyond; at most 268435456, as a document is held in memory); only the upload route takes bodies over EONPRO_MAX_BODY_BYTES"`
	BlobDir        string `env:"EONPRO_BLOB_DIR" help:"directory (0700, files 0600) that keeps the encrypted content of patient documents unless EONPRO_S3_BUCKET is set; default EONPRO_DATA_DIR/blobs. Replicas that do not share it need S3"`
	S3Bucket       string `env:"EONPRO_S3_BUCKET" help:"S3 bucket that keeps the encrypted content of patient documents instead of EONPRO_BLOB_DIR; region EONPRO_AWS_REGION, credentials from the AWS default chain"`
	S3Endpoint     string `env:"EONPRO_S3_ENDPOINT" help:"endpoint URL of an S3-compatible store (MinIO, a fake in tests) for EONPRO_S3_BUCKET and EONPRO_AUDIT_ANCHOR_S3_BUCKET; buckets are then addressed by path"`

	BlobSweepInterval time.Duration `env:"EONPRO_BLOB_SWEEP_INTERVAL" default:"1h" help:"how often stored document content older than a day that no document references (left by failed uploads and crashes) is deleted (at least 1m)"`
}

// Integrations tells, per outside service, whether it is configured.
func (c Config) Integrations() map[string]bool {
	return map[string]bool{
		"stripe":   c.StripeKey != "",
		"twilio":   c.TwilioToken != "",
		"lifefile": c.LifefileKey != "",
		"aws":      c.AWSRegion != "",
		"openai":   c.OpenAIKey != "",
		"zoom":     c.ZoomSecret != "",
	}
}

// configFields walks the tagged fields of c.
func configFields(c *Config, fn func(f reflect.StructField, v reflect.Value)) {
	rv := reflect.ValueOf(c).Elem()
	for i := range rv.NumField() {
		fn(rv.Type().Field(i), rv.Field(i))
	}
}

// loadConfig reads defaults, then the environment (getenv), then registers
// flags on fs so that parsing fs overrides both.
func loadConfig(getenv func(string) string, fs *flag.FlagSet) (*Config, error) {
	c := &Config{}
	var err error
	configFields(c, func(f reflect.StructField, v reflect.Value) {
		raw := f.Tag.Get("default")
		if e := getenv(f.Tag.Get("env")); e != "" {
			raw = e
		}
		if serr := setField(v, raw); serr != nil && err == nil {
			err = fmt.Errorf("config: %s: %w", f.Tag.Get("env"), serr)
		}
		if name := f.Tag.Get("flag"); name != "" && fs != nil {
			fs.Func(name, f.Tag.Get("help")+" ("+f.Tag.Get("env")+")", func(s string) error { return setField(v, s) })
		}
	})
	return c, err
}

func setField(v reflect.Value, raw string) error {
	if v.Type() == reflect.TypeFor[time.Duration]() {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("%q is not a duration like 30s or 5m", raw)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true/false or 1/0", raw)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		v.SetInt(n)
	}
	return nil
}

// Validate checks the configuration and returns the first problem as one
// line that names the variable.
func (c *Config) Validate() error {
	switch c.Env {
	case "development", "test", "production":
	default:
		return errors.New("config: EONPRO_ENV must be development, test or production")
	}
	engine, _, err := sqlstore.ParseURL(c.DatabaseURL)
	if err != nil {
		return fmt.Errorf("config: EONPRO_DATABASE_URL: %w", err)
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		return errors.New("config: EONPRO_REDIS_URL must start with redis:// or rediss://")
	}
	if c.Addr == "" {
		return errors.New("config: EONPRO_ADDR must not be empty")
	}
	if c.MetricsAddr == "" || (c.MetricsAddr == c.Addr && !strings.HasSuffix(c.Addr, ":0")) {
		return errors.New("config: EONPRO_METRICS_ADDR must be an address of its own (not EONPRO_ADDR), or off")
	}
	if c.Env == "production" && c.MetricsToken != "" {
		return errors.New("config: EONPRO_METRICS_TOKEN is refused in production: /metrics is never on the public listener there; scrape EONPRO_METRICS_ADDR")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return errors.New("config: EONPRO_PUBLIC_URL must be a scheme and host, like https://app.example.com")
		}
		if c.Env == "production" && u.Scheme != "https" {
			return errors.New("config: EONPRO_PUBLIC_URL must use https in production")
		}
	}
	var level slog.Level
	if level.UnmarshalText([]byte(c.LogLevel)) != nil {
		return errors.New("config: EONPRO_LOG_LEVEL must be debug, info, warn or error")
	}
	if c.SlowQueryMS < 1 || c.MaxBodyBytes < 1 || c.DBMaxConns < 0 || c.ShutdownTimeout <= 0 || c.PurgeInterval < time.Minute {
		return errors.New("config: EONPRO_SLOW_QUERY_MS and EONPRO_MAX_BODY_BYTES must be positive, EONPRO_DB_MAX_CONNS not negative, EONPRO_SHUTDOWN_TIMEOUT positive and EONPRO_PURGE_INTERVAL at least 1m")
	}
	for _, r := range []struct{ name, v string }{{"EONPRO_RATE_LIMIT_STRICT", c.RateStrict},
		{"EONPRO_RATE_LIMIT_STANDARD", c.RateStandard}, {"EONPRO_RATE_LIMIT_RELAXED", c.RateRelaxed},
		{"EONPRO_RATE_LIMIT_FAILED_AUTH", c.RateFailedAuth}} {
		if _, err := parseRate(r.v); err != nil {
			return fmt.Errorf("config: %s: %w", r.name, err)
		}
	}
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		return errors.New("config: EONPRO_SECRET_KEY must be at least 32 bytes")
	}
	if err := c.validateMasterKey(); err != nil {
		return err
	}
	if err := c.validateAudit(); err != nil {
		return err
	}
	if err := c.validateBlobs(); err != nil {
		return err
	}
	if c.TwilioToken != "" && (!twilioSID.MatchString(c.TwilioAccountSID) || c.TwilioFrom == "") {
		return errors.New("config: EONPRO_TWILIO_AUTH_TOKEN needs EONPRO_TWILIO_ACCOUNT_SID (AC and 32 hex digits) and EONPRO_TWILIO_FROM")
	}
	if c.SESEndpoint != "" && c.SESFrom == "" {
		return errors.New("config: EONPRO_SES_ENDPOINT needs EONPRO_SES_FROM")
	}
	if c.TwilioBaseURL != "" {
		if u, err := url.Parse(c.TwilioBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("config: EONPRO_TWILIO_BASE_URL must be a scheme and host, like http://127.0.0.1:8089")
		}
	}
	if c.Env != "production" {
		return nil
	}
	if c.SecretKey == "" {
		return errors.New("config: EONPRO_SECRET_KEY is required when EONPRO_ENV=production")
	}
	if c.MasterKey == "" && c.MasterKeyFile == "" && c.KMSKeyID == "" {
		return errors.New("config: EONPRO_MASTER_KEY (or EONPRO_MASTER_KEY_FILE or EONPRO_KMS_KEY_ID) is required when EONPRO_ENV=production")
	}
	if engine == sqlstore.Postgres && !c.AllowInsecureDB {
		u, _ := url.Parse(c.DatabaseURL)
		if mode := u.Query().Get("sslmode"); mode == "disable" || mode == "allow" {
			return fmt.Errorf("config: EONPRO_DATABASE_URL has sslmode=%s, which sends PHI unencrypted; use sslmode=verify-full or set EONPRO_ALLOW_INSECURE_DB=1", mode)
		}
	}
	if c.AuditSigningKeyFile == "" {
		return errors.New("config: EONPRO_AUDIT_SIGNING_KEY_FILE is required when EONPRO_ENV=production")
	}
	return nil
}

// twilioSID is a Twilio account SID.
var twilioSID = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)

// LogValue shows the configuration with secrets masked, for the start-up line.
func (c *Config) LogValue() slog.Value {
	var attrs []slog.Attr
	configFields(c, func(f reflect.StructField, v reflect.Value) {
		val := fmt.Sprint(v.Interface())
		switch f.Tag.Get("secret") {
		case "true":
			if val != "" {
				val = "****"
			}
		case "url":
			val = maskURL(val)
		}
		attrs = append(attrs, slog.String(f.Tag.Get("env"), val))
	})
	return slog.GroupValue(attrs...)
}

// maskURL hides the password (and any password= parameter) of a URL.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	if u.Opaque != "" {
		return raw // sqlite:PATH holds no secret
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "****")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "****")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// parseRate reads COUNT/DURATION, such as 5/15m.
func parseRate(s string) (eonpro.Rate, error) {
	n, d, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 {
		return eonpro.Rate{}, fmt.Errorf("%q is not COUNT/DURATION like 60/1m", s)
	}
	period, err := time.ParseDuration(d)
	if err != nil || period <= 0 {
		return eonpro.Rate{}, fmt.Errorf("%q is not COUNT/DURATION like 60/1m", s)
	}
	return eonpro.Rate{Count: count, Period: period}, nil
}

// Rates returns the validated rate-limit tiers.
func (c *Config) Rates() web.Rates {
	strict, _ := parseRate(c.RateStrict)
	standard, _ := parseRate(c.RateStandard)
	relaxed, _ := parseRate(c.RateRelaxed)
	failed, _ := parseRate(c.RateFailedAuth)
	return web.Rates{Strict: strict, Standard: standard, Relaxed: relaxed, FailedAuth: failed}
}
