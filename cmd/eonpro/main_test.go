package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// startMain runs the real start-up in process on port 0 with the given
// environment and returns the base URL.
func startMain(t *testing.T, kv map[string]string) (*Main, string) {
	t.Helper()
	m := NewMain()
	var logs bytes.Buffer
	m.Getenv, m.Stdout, m.Stderr = env(withDataDir(t, kv)), io.Discard, &logs
	if err := m.ParseFlags([]string{"serve", "--addr", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() { m.Close() })
	return m, "http://" + m.Addr()
}

func get(t *testing.T, url string, header ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

func TestMainServe(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			kv := map[string]string{"EONPRO_DATABASE_URL": sqltest.URL(t, e), "EONPRO_HEALTH_TOKEN": "health-token-for-tests"}
			if r := os.Getenv("EONPRO_TEST_REDIS_URL"); r != "" {
				kv["EONPRO_REDIS_URL"] = r
			}
			m, base := startMain(t, kv)
			if code, body := get(t, base+"/api/health"); code != 200 || body["status"] != "ok" {
				t.Errorf("health: %d %v", code, body)
			}
			if code, _ := get(t, base+"/api/ready"); code != 200 {
				t.Errorf("ready: %d", code)
			}
			code, body := get(t, base+"/api/health?full=true", "Authorization", "Bearer health-token-for-tests")
			comps, _ := body["components"].(map[string]any)
			db, _ := comps["database"].(map[string]any)
			if code != 200 || db["engine"] != string(e) || db["status"] != "ok" {
				t.Errorf("full health: %d %v", code, body)
			}
			if kv["EONPRO_REDIS_URL"] != "" {
				if r, _ := comps["redis"].(map[string]any); r["status"] != "ok" {
					t.Errorf("redis: %v", comps["redis"])
				}
			}
			if err := m.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			if _, err := http.Get(base + "/api/health"); err == nil {
				t.Error("server still answers after Close")
			}
		})
	}
}

func TestMainMigrateAndVersion(t *testing.T) {
	m := NewMain()
	var out bytes.Buffer
	m.Getenv, m.Stdout, m.Stderr = env(nil), &out, io.Discard
	if err := m.ParseFlags([]string{"version"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil || !strings.HasPrefix(out.String(), "eonpro ") {
		t.Errorf("version: %v %q", err, out.String())
	}

	m = NewMain()
	m.Getenv, m.Stderr = env(map[string]string{"EONPRO_DATABASE_URL": sqltest.URL(t, "sqlite")}), io.Discard
	if err := m.ParseFlags([]string{"migrate"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if pending, err := m.db.Pending(context.Background()); err != nil || pending {
		t.Errorf("pending after migrate: %v %v", pending, err)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}, {"serve", "--nope"}, {"serve", "extra"}} {
		m := NewMain()
		m.Getenv, m.Stdout, m.Stderr = env(nil), io.Discard, io.Discard
		if err := m.ParseFlags(args); err == nil || exitCode(err) != 2 {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
}

// TestBinary builds the real binary and runs it as an operator would: a
// temporary SQLite file, curl-like requests, then SIGTERM and exit 0.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "eonpro")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	t.Run("ProductionRefusesWithoutSecret", func(t *testing.T) {
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(), "EONPRO_ENV=production", "EONPRO_SECRET_KEY=", "EONPRO_DATABASE_URL=sqlite:"+filepath.Join(dir, "p.db"))
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 1 {
			t.Fatalf("exit code %d (%v), want 1\n%s", code, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], "EONPRO_SECRET_KEY") {
			t.Errorf("want one line naming EONPRO_SECRET_KEY, got %q", out)
		}
	})

	t.Run("ProductionRefusesWithoutMasterKey", func(t *testing.T) {
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(), "EONPRO_ENV=production", "EONPRO_SECRET_KEY="+strings.Repeat("k", 32),
			"EONPRO_MASTER_KEY=", "EONPRO_MASTER_KEY_FILE=", "EONPRO_KMS_KEY_ID=", "EONPRO_DATABASE_URL=sqlite:"+filepath.Join(dir, "p.db"))
		out, _ := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if code := cmd.ProcessState.ExitCode(); code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "EONPRO_MASTER_KEY") {
			t.Errorf("exit %d, want 1 and one line naming EONPRO_MASTER_KEY: %q", code, out)
		}
	})

	t.Run("ServeAndSIGTERM", func(t *testing.T) {
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "EONPRO_DATABASE_URL=", "EONPRO_ENV=development")
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		addr := waitForLog(t, stderr, "listening")
		if _, err := os.Stat(filepath.Join(dir, "data", "eonpro.db")); err != nil {
			t.Errorf("default database not created: %v", err)
		}
		if code, body := get(t, "http://"+addr+"/api/health"); code != 200 || body["status"] != "ok" {
			t.Errorf("health: %d %v", code, body)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("exit after SIGTERM: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no exit within 30s of SIGTERM")
		}
	})
}

// waitForLog reads JSON log lines until one has msg and returns its addr.
func waitForLog(t *testing.T, r io.Reader, msg string) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == msg {
				found <- line.Addr
				break
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case addr := <-found:
		return addr
	case <-time.After(60 * time.Second):
		t.Fatalf("no %q log line within 60s", msg)
		return ""
	}
}

// withDataDir gives kv a temporary EONPRO_DATA_DIR unless it names one,
// so that tests never write development keys into the source tree.
func withDataDir(t *testing.T, kv map[string]string) map[string]string {
	// Servers of a test (replicas, say) each take a free metrics port.
	out := map[string]string{"EONPRO_DATA_DIR": t.TempDir(), "EONPRO_METRICS_ADDR": "127.0.0.1:0"}
	maps.Copy(out, kv)
	return out
}

// runCmd runs one operator command in process and returns its output.
func runCmd(t *testing.T, kv map[string]string, args ...string) (string, error) {
	t.Helper()
	m := NewMain()
	var out bytes.Buffer
	m.Getenv, m.Stdout, m.Stderr = env(withDataDir(t, kv)), &out, io.Discard
	if err := m.ParseFlags(args); err != nil {
		return "", err
	}
	defer m.Close()
	err := m.Run(context.Background())
	return strings.TrimSpace(out.String()), err
}

func TestAdminCommands(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			kv := map[string]string{"EONPRO_DATABASE_URL": sqltest.URL(t, e)}
			id, err := runCmd(t, kv, "clinic", "create", "--slug", "sunrise", "--name", "Sunrise Health")
			if err != nil || len(id) != 36 {
				t.Fatalf("clinic create: %q %v", id, err)
			}
			if _, err := runCmd(t, kv, "clinic", "create", "--slug", "sunrise", "--name", "Again"); err == nil || !strings.Contains(err.Error(), "slug") {
				t.Errorf("duplicate slug: %v", err)
			}
			if _, err := runCmd(t, kv, "clinic", "create", "--slug", "Bad Slug", "--name", "x"); err == nil || !strings.Contains(err.Error(), "slug") {
				t.Errorf("bad slug: %v", err)
			}
			uid, err := runCmd(t, kv, "user", "create", "--email", "ada@sunrise.test", "--password", "correct horse battery staple",
				"--name", "Ada", "--clinic", "sunrise", "--role", "admin")
			if err != nil || len(uid) != 36 {
				t.Fatalf("user create: %q %v", uid, err)
			}
			if _, err := runCmd(t, kv, "user", "create", "--email", "x@sunrise.test", "--password", "password1234"); err == nil || !strings.Contains(err.Error(), "password") {
				t.Errorf("common password: %v", err)
			}
			if _, err := runCmd(t, kv, "user", "create", "--email", "y@sunrise.test", "--password", "correct horse battery staple", "--clinic", "sunrise"); exitCode(err) != 2 {
				t.Errorf("--clinic without --role: %v", err)
			}
			if _, err := runCmd(t, kv, "user", "create", "--email", "z@sunrise.test", "--password", "correct horse battery staple", "--clinic", "nope", "--role", "staff"); err == nil {
				t.Error("unknown clinic accepted")
			}
			if _, err := runCmd(t, kv, "user", "create", "--email", "ADA@sunrise.test", "--password", "correct horse battery staple"); err == nil {
				t.Error("e-mail taken case-insensitively accepted")
			}
		})
	}
}

// TestRateLimitAcrossReplicas runs two servers on one database and one
// Redis: the strict sign-in limit is shared, as between replicas behind a
// load balancer.
func TestRateLimitAcrossReplicas(t *testing.T) {
	redisURL := os.Getenv("EONPRO_TEST_REDIS_URL")
	if redisURL == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but EONPRO_TEST_REDIS_URL is not set")
		}
		t.Skip("EONPRO_TEST_REDIS_URL is not set")
	}
	for _, e := range sqltest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			// A limit no other test run shares: the count lives in Redis.
			rate := fmt.Sprintf("3/%dm", 10+time.Now().UnixNano()%1000)
			kv := map[string]string{"EONPRO_DATABASE_URL": sqltest.URL(t, e), "EONPRO_REDIS_URL": redisURL,
				"EONPRO_RATE_LIMIT_STRICT": rate}
			_, a := startMain(t, kv)
			_, b := startMain(t, kv)
			var codes []int
			for i := range 4 {
				base := []string{a, b}[i%2]
				res, err := http.Post(base+"/api/v1/auth/login", "application/json",
					strings.NewReader(`{"email":"nobody@example.test","password":"wrong password!"}`))
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				codes = append(codes, res.StatusCode)
			}
			if want := []int{401, 401, 401, 429}; !slices.Equal(codes, want) {
				t.Errorf("statuses %v, want %v", codes, want)
			}
		})
	}
}
