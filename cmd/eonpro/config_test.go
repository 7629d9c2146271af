package main

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md from the Config tags")

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadConfig(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		c, err := loadConfig(env(nil), nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Addr != ":8080" || c.DatabaseURL != "sqlite:data/eonpro.db" || c.SlowQueryMS != 200 ||
			c.ShutdownTimeout != 30*time.Second || c.Env != "development" || c.MaxBodyBytes != 1<<20 {
			t.Errorf("unexpected defaults: %+v", c)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("defaults do not validate: %v", err)
		}
	})
	t.Run("FlagOverridesEnv", func(t *testing.T) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		c, err := loadConfig(env(map[string]string{"EONPRO_ADDR": ":9000", "EONPRO_SLOW_QUERY_MS": "50"}), fs)
		if err != nil {
			t.Fatal(err)
		}
		if err := fs.Parse([]string{"--addr", "127.0.0.1:18080"}); err != nil {
			t.Fatal(err)
		}
		if c.Addr != "127.0.0.1:18080" || c.SlowQueryMS != 50 {
			t.Errorf("got addr %q slow %d", c.Addr, c.SlowQueryMS)
		}
	})
	t.Run("ErrBadNumber", func(t *testing.T) {
		_, err := loadConfig(env(map[string]string{"EONPRO_SLOW_QUERY_MS": "fast"}), nil)
		if err == nil || !strings.Contains(err.Error(), "EONPRO_SLOW_QUERY_MS") {
			t.Errorf("got %v, want an error naming EONPRO_SLOW_QUERY_MS", err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	secret := strings.Repeat("k", 32)
	master := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // base64 of 32 bytes
	auditKey := "/run/secrets/audit-signing.key"
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string // "" for valid; else a substring naming the variable
	}{
		{"OK", nil, ""},
		{"OKPostgres", map[string]string{"EONPRO_DATABASE_URL": "postgres://u:p@db/eonpro"}, ""},
		{"OKProduction", map[string]string{"EONPRO_AUDIT_SIGNING_KEY_FILE": auditKey, "EONPRO_ENV": "production", "EONPRO_SECRET_KEY": secret, "EONPRO_MASTER_KEY": master,
			"EONPRO_DATABASE_URL": "postgres://u:p@db/eonpro?sslmode=verify-full"}, ""},
		{"OKProductionKMS", map[string]string{"EONPRO_AUDIT_SIGNING_KEY_FILE": auditKey, "EONPRO_ENV": "production", "EONPRO_SECRET_KEY": secret,
			"EONPRO_KMS_KEY_ID": "alias/eonpro", "EONPRO_DATABASE_URL": "postgres://u:p@db/eonpro?sslmode=verify-full"}, ""},
		{"OKProductionKeyFile", map[string]string{"EONPRO_AUDIT_SIGNING_KEY_FILE": auditKey, "EONPRO_ENV": "production", "EONPRO_SECRET_KEY": secret,
			"EONPRO_MASTER_KEY_FILE": "/run/secrets/master.key"}, ""},
		{"OKProductionInsecureAllowed", map[string]string{"EONPRO_AUDIT_SIGNING_KEY_FILE": auditKey, "EONPRO_ENV": "production", "EONPRO_SECRET_KEY": secret, "EONPRO_MASTER_KEY": master,
			"EONPRO_DATABASE_URL": "postgres://db/eonpro?sslmode=disable", "EONPRO_ALLOW_INSECURE_DB": "1"}, ""},
		{"ErrEnv", map[string]string{"EONPRO_ENV": "prod"}, "EONPRO_ENV"},
		{"ErrDatabaseURL", map[string]string{"EONPRO_DATABASE_URL": "mysql://x"}, "EONPRO_DATABASE_URL"},
		{"ErrRedisURL", map[string]string{"EONPRO_REDIS_URL": "localhost:6379"}, "EONPRO_REDIS_URL"},
		{"ErrLogLevel", map[string]string{"EONPRO_LOG_LEVEL": "loud"}, "EONPRO_LOG_LEVEL"},
		{"ErrShortSecret", map[string]string{"EONPRO_SECRET_KEY": "short"}, "EONPRO_SECRET_KEY"},
		{"ErrProductionNoSecret", map[string]string{"EONPRO_ENV": "production"}, "EONPRO_SECRET_KEY is required"},
		{"ErrProductionSSLDisable", map[string]string{"EONPRO_ENV": "production", "EONPRO_SECRET_KEY": secret, "EONPRO_MASTER_KEY": master,
			"EONPRO_DATABASE_URL": "postgres://db/eonpro?sslmode=disable"}, "EONPRO_ALLOW_INSECURE_DB"},
		{"ErrProductionNoMasterKey", map[string]string{"EONPRO_ENV": "production", "EONPRO_SECRET_KEY": secret}, "EONPRO_MASTER_KEY"},
		{"ErrMasterKeyNot32Bytes", map[string]string{"EONPRO_MASTER_KEY": "c2hvcnQ="}, "EONPRO_MASTER_KEY must be"},
		{"ErrTwoMasterKeys", map[string]string{"EONPRO_MASTER_KEY": master, "EONPRO_KMS_KEY_ID": "alias/eonpro"}, "only one of"},
		{"ErrKMSEndpointAlone", map[string]string{"EONPRO_KMS_ENDPOINT": "http://127.0.0.1:4566"}, "EONPRO_KMS_KEY_ID"},
		{"ErrProductionNoAuditKey", map[string]string{"EONPRO_ENV": "production", "EONPRO_SECRET_KEY": secret, "EONPRO_MASTER_KEY": master},
			"EONPRO_AUDIT_SIGNING_KEY_FILE is required"},
		{"OKPublicURL", map[string]string{"EONPRO_PUBLIC_URL": "http://localhost:8080"}, ""},
		{"ErrPublicURLPath", map[string]string{"EONPRO_PUBLIC_URL": "https://app.example.com/x"}, "EONPRO_PUBLIC_URL"},
		{"ErrPublicURLNoScheme", map[string]string{"EONPRO_PUBLIC_URL": "app.example.com"}, "EONPRO_PUBLIC_URL"},
		{"ErrProductionPublicURLHTTP", map[string]string{"EONPRO_AUDIT_SIGNING_KEY_FILE": auditKey, "EONPRO_ENV": "production", "EONPRO_SECRET_KEY": secret,
			"EONPRO_MASTER_KEY": master, "EONPRO_PUBLIC_URL": "http://app.example.com"}, "EONPRO_PUBLIC_URL must use https"},
		{"ErrAuditCheckpointInterval", map[string]string{"EONPRO_AUDIT_CHECKPOINT_INTERVAL": "30s"}, "EONPRO_AUDIT_CHECKPOINT_INTERVAL"},
		{"OKAuditAnchorS3", map[string]string{"EONPRO_AUDIT_ANCHOR_S3_BUCKET": "audit", "EONPRO_AUDIT_ANCHOR_LOCK_MODE": "GOVERNANCE",
			"EONPRO_S3_ENDPOINT": "http://127.0.0.1:9000"}, ""},
		{"ErrAuditAnchorLockMode", map[string]string{"EONPRO_AUDIT_ANCHOR_LOCK_MODE": "LEGAL_HOLD"}, "EONPRO_AUDIT_ANCHOR_LOCK_MODE"},
		{"ErrAuditAnchorRetention", map[string]string{"EONPRO_AUDIT_ANCHOR_RETENTION_DAYS": "0"}, "EONPRO_AUDIT_ANCHOR_RETENTION_DAYS"},
		{"ErrMetricsOnPublicAddr", map[string]string{"EONPRO_ADDR": ":8080", "EONPRO_METRICS_ADDR": ":8080"}, "EONPRO_METRICS_ADDR"},
		{"ErrMetricsTokenInProduction", map[string]string{"EONPRO_ENV": "production", "EONPRO_SECRET_KEY": strings.Repeat("k", 32),
			"EONPRO_MASTER_KEY": master, "EONPRO_METRICS_TOKEN": "scrape-token-0123456789"}, "EONPRO_METRICS_TOKEN"},
		{"ErrFailedAuthRate", map[string]string{"EONPRO_RATE_LIMIT_FAILED_AUTH": "lots"}, "EONPRO_RATE_LIMIT_FAILED_AUTH"},
		{"OKMetricsOff", map[string]string{"EONPRO_METRICS_ADDR": "off"}, ""},
		{"ErrTwilioNoSID", map[string]string{"EONPRO_TWILIO_AUTH_TOKEN": "tok", "EONPRO_TWILIO_FROM": "+15125550100"}, "EONPRO_TWILIO_ACCOUNT_SID"},
		{"ErrSESEndpointAlone", map[string]string{"EONPRO_SES_ENDPOINT": "http://127.0.0.1:9001"}, "EONPRO_SES_FROM"},
		{"ErrTwilioBaseURL", map[string]string{"EONPRO_TWILIO_BASE_URL": "twilio"}, "EONPRO_TWILIO_BASE_URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(env(tt.env), nil)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestConfigLogValueMasksSecrets(t *testing.T) {
	c, err := loadConfig(env(map[string]string{
		"EONPRO_DATABASE_URL":      "postgres://eon:pgSecret123@db/eonpro?sslmode=require",
		"EONPRO_REDIS_URL":         "redis://:redisSecret456@cache:6379/0",
		"EONPRO_SECRET_KEY":        "signingSecret789signingSecret789",
		"EONPRO_HEALTH_TOKEN":      "healthSecret000",
		"EONPRO_STRIPE_SECRET_KEY": "sk_test_stripeSecret",
		"EONPRO_MASTER_KEY":        "bWFzdGVyU2VjcmV0bWFzdGVyU2VjcmV0bWFzdGVyU2U=",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", c)
	out := buf.String()
	for _, secret := range []string{"pgSecret123", "redisSecret456", "signingSecret789", "healthSecret000", "stripeSecret", "bWFzdGVyU2VjcmV0"} {
		if strings.Contains(out, secret) {
			t.Errorf("log line contains secret %q: %s", secret, out)
		}
	}
	for _, visible := range []string{"eon:", "db/eonpro", "cache:6379", `"EONPRO_SECRET_KEY":"****"`} {
		if !strings.Contains(out, visible) {
			t.Errorf("log line lacks %q: %s", visible, out)
		}
	}
}

// TestConfigDocs keeps docs/configuration.md in step with the Config tags.
// Run with -update to rewrite it.
func TestConfigDocs(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Configuration\n\n")
	b.WriteString("Every setting is an environment variable; some also have a flag on `eonpro serve` and\n")
	b.WriteString("`eonpro migrate` (flags win). Secrets are masked in the start-up log line.\n")
	b.WriteString("This file is generated from the `Config` struct in cmd/eonpro/config.go by\n")
	b.WriteString("`go test ./cmd/eonpro -run TestConfigDocs -update`.\n\n")
	b.WriteString("| variable | flag | default | secret | meaning |\n|---|---|---|---|---|\n")
	configFields(&Config{}, func(f reflect.StructField, _ reflect.Value) {
		flagName := ""
		if n := f.Tag.Get("flag"); n != "" {
			flagName = "`--" + n + "`"
		}
		def := ""
		if d := f.Tag.Get("default"); d != "" {
			def = "`" + d + "`"
		}
		secret := ""
		if f.Tag.Get("secret") != "" {
			secret = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", f.Tag.Get("env"), flagName, def, secret, f.Tag.Get("help"))
	})
	const path = "../../docs/configuration.md"
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != b.String() {
		t.Errorf("docs/configuration.md is out of date; run go test ./cmd/eonpro -run TestConfigDocs -update")
	}
}

func TestDialAddr(t *testing.T) {
	for in, want := range map[string]string{":8080": "localhost:8080", "[::]:8080": "localhost:8080", "0.0.0.0:80": "localhost:80",
		"127.0.0.1:18080": "127.0.0.1:18080", "app.internal:8080": "app.internal:8080", "[::1]:9": "[::1]:9"} {
		if got := dialAddr(in); got != want {
			t.Errorf("dialAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
