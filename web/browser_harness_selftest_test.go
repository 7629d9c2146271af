package web

import (
	"bytes"
	"context"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cdpnetwork "github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// harnessHome is the self-test's page: scripts must come from a file,
// because the app's Content-Security-Policy forbids inline ones.
const harnessHome = `<!doctype html>
<html><head><title>harness</title><script src="/app.js" defer></script></head>
<body>
<input id="q" name="q"> <span id="keys">0</span>
<p id="echo"></p>
<p id="later" hidden>later</p>
<p id="flash">flash <button id="dismiss" type="button">dismiss</button></p>
<input id="file" type="file"><p id="filename"></p>
<form method="post" action="/posted"><input id="note" name="note"><button id="save">Save</button></form>
<button id="go" type="button">Go</button>
</body></html>`

// harnessJS echoes the search box and counts its key presses, so the test
// can tell real typing from a value set by script.
const harnessJS = `
const $ = (id) => document.getElementById(id);
$("q").addEventListener("keydown", () => { $("keys").textContent = String(Number($("keys").textContent) + 1); });
$("q").addEventListener("input", () => { $("echo").textContent = $("q").value; });
$("dismiss").addEventListener("click", () => $("flash").remove());
$("file").addEventListener("change", (e) => { $("filename").textContent = e.target.files[0].name; });
$("go").addEventListener("click", () => location.assign("/done?from=home"));
setTimeout(() => { $("later").hidden = false; }, 300);
`

// harnessSite is the self-test's server: the page, its script, a form
// target, a download that needs the page's cookie, and a broken page
// (an exception, a console error, a missing script and an inline script
// that the Content-Security-Policy blocks).
func harnessSite() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s3cret", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		writeHarness(w, "text/html; charset=utf-8", harnessHome)
	})
	mux.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) {
		writeHarness(w, "text/javascript", harnessJS)
	})
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		writeHarness(w, "text/html; charset=utf-8", `<!doctype html><title>done</title><h1 id="done">done</h1>`)
	})
	mux.HandleFunc("POST /posted", func(w http.ResponseWriter, r *http.Request) {
		writeHarness(w, "text/html; charset=utf-8",
			`<!doctype html><title>posted</title><p id="result">posted: `+html.EscapeString(r.FormValue("note"))+`</p>`)
	})
	mux.HandleFunc("GET /download", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("sid"); err != nil || c.Value != "s3cret" {
			http.Error(w, "no session", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Disposition", `attachment; filename="report.txt"`)
		writeHarness(w, "text/plain", "report body")
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		writeHarness(w, "text/html; charset=utf-8",
			`<!doctype html><title>broken</title><p>broken</p><script src="/boom.js"></script><script src="/missing.js"></script><script>document.title = "inline ran";</script>`)
	})
	mux.HandleFunc("GET /boom.js", func(w http.ResponseWriter, r *http.Request) {
		writeHarness(w, "text/javascript", `console.error("console said no"); throw new Error("boom");`)
	})
	return mux
}

func writeHarness(w http.ResponseWriter, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write([]byte(body))
}

// TestBrowserHarness proves the browser harness against a tiny site rather
// than the app: the helpers drive a page, and the checks that fail other
// tests (security headers, JavaScript errors) do catch what they must.
func TestBrowserHarness(t *testing.T) {
	secure := httptest.NewServer(securityHeaders(harnessSite()))
	t.Cleanup(secure.Close)
	bare := httptest.NewServer(harnessSite())
	t.Cleanup(bare.Close)

	t.Run("Drive", func(t *testing.T) { testHarnessDrive(t, secure.URL) })
	t.Run("MissingHeaders", func(t *testing.T) {
		b := newBrowser(t, bare.URL)
		b.visit("/")
		got := b.takeHeaderViolations()
		if len(got) != len(securityPageHeaders) {
			t.Fatalf("got %d violations, want %d: %q", len(got), len(securityPageHeaders), got)
		}
		for i, h := range securityPageHeaders {
			if !strings.HasPrefix(got[i], bare.URL+"/ ") || !strings.Contains(got[i], "header "+h.name+" is missing") {
				t.Errorf("violation %d = %q, want the URL and %s missing", i, got[i], h.name)
			}
		}
	})
	t.Run("JSErrors", func(t *testing.T) {
		b := newBrowser(t, secure.URL)
		b.visit("/broken")
		b.eval("0", nil) // let the browser deliver the page's events
		got := strings.Join(b.takeJSErrors(), "\n")
		for _, want := range []string{"console.error: console said no", "Error: boom", "/boom.js", "failed to load script " + secure.URL + "/missing.js: status 404",
			"Executing inline script violates the following Content Security Policy"} {
			if !strings.Contains(got, want) {
				t.Errorf("JavaScript errors lack %q; got:\n%s", want, got)
			}
		}
	})
	t.Run("AllowConsoleErrors", func(t *testing.T) {
		b := newBrowser(t, secure.URL)
		b.allowConsoleErrors()
		b.visit("/broken")
	})
	t.Run("StepTimeout", func(t *testing.T) { testHarnessStepTimeout(t, secure.URL) })
	t.Run("Artifacts", func(t *testing.T) { testHarnessArtifacts(t, secure.URL) })
}

// testHarnessDrive uses every helper on the secure site; the browser's own
// checks then find nothing wrong with it.
func testHarnessDrive(t *testing.T, baseURL string) {
	b := newBrowser(t, baseURL)
	b.visit("/")

	b.typeKeys("#q", "hello")
	b.waitText("#echo", "hello")
	if got := b.text("#keys"); got != "5" {
		t.Errorf("key presses = %q, want 5 (typeKeys must send real keys)", got)
	}
	b.fill("#q", "bye")
	if got, echo := b.value("#q"), b.text("#echo"); got != "bye" || echo != "bye" {
		t.Errorf("after fill: value %q, echo %q; want bye, bye", got, echo)
	}
	if got := b.attr("#q", "name"); got != "q" {
		t.Errorf("attr name = %q, want q", got)
	}
	if got := b.attr("#q", "placeholder"); got != "" {
		t.Errorf("missing attr = %q, want empty", got)
	}

	b.waitVisible("#later")
	b.click("#dismiss")
	b.waitGone("#flash")

	upload := filepath.Join(t.TempDir(), "upload.txt")
	if err := os.WriteFile(upload, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.setFile("#file", upload)
	b.waitText("#filename", "upload.txt")

	var sum int
	b.eval("Promise.resolve(40 + 2)", &sum)
	if sum != 42 {
		t.Errorf("eval = %d, want 42", sum)
	}
	if h := b.html(); !strings.Contains(h, `<p id="echo">bye</p>`) || strings.Contains(h, `id="flash"`) {
		t.Errorf("html is not the live page (echo bye, no flash): %s", h)
	}
	testHarnessSession(t, b, baseURL)

	b.click("#go")
	b.waitURL("/done")
	if got := b.url(); got != baseURL+"/done?from=home" {
		t.Errorf("url = %q, want %s/done?from=home", got, baseURL)
	}

	b.visit("/")
	b.fill("#note", "hi <there>")
	b.submit("#note")
	if got := b.text("#result"); got != "posted: hi <there>" {
		t.Errorf("after submit: %q, want %q", got, "posted: hi <there>")
	}
}

// testHarnessSession checks that cookies sees the HttpOnly session cookie
// and fetch sends it: the same download without it is refused.
func testHarnessSession(t *testing.T, b *browser, baseURL string) {
	i := slices.IndexFunc(b.cookies(), func(c *cdpnetwork.Cookie) bool { return c.Name == "sid" })
	if i < 0 {
		t.Fatal("cookies lacks the HttpOnly sid cookie")
	}
	status, headers, body := b.fetch("/download")
	if status != http.StatusOK || body != "report body" || headers["content-disposition"] != `attachment; filename="report.txt"` {
		t.Errorf("fetch = %d %q %q, want 200 with the report", status, headers, body)
	}
	resp, err := http.Get(baseURL + "/download")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("download without the browser's cookie = %d, want 403", resp.StatusCode)
	}
}

// testHarnessStepTimeout shows that a step waiting for what never comes
// fails within its limit, naming the page.
func testHarnessStepTimeout(t *testing.T, baseURL string) {
	b := newBrowser(t, baseURL)
	b.visit("/done")
	b.wait = 500 * time.Millisecond
	start := time.Now()
	_, err := browserStep(b, "wait for #never", chromedp.WaitVisible(chromedp.CSS("#never")))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), baseURL+"/done") {
		t.Errorf("browserStep error = %v, want a deadline naming %s/done", err, baseURL)
	}
	err = b.poll("never", func(context.Context) (bool, error) { return false, nil })
	if err == nil || !strings.Contains(err.Error(), baseURL+"/done") {
		t.Errorf("poll error = %v, want one naming %s/done", err, baseURL)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("two 500ms steps took %s", d)
	}
}

// testHarnessArtifacts shows the files a failing test leaves behind.
func testHarnessArtifacts(t *testing.T, baseURL string) {
	dir := t.TempDir()
	t.Setenv("EONPRO_BROWSER_ARTIFACTS", dir)
	b := newBrowser(t, baseURL)
	b.visit("/")
	b.saveArtifacts()
	png, err := os.ReadFile(filepath.Join(dir, "TestBrowserHarness_Artifacts.png"))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot: %v, starts %q", err, png[:min(len(png), 8)])
	}
	page, err := os.ReadFile(filepath.Join(dir, "TestBrowserHarness_Artifacts.html"))
	if err != nil || !strings.Contains(string(page), `<p id="echo">`) {
		t.Errorf("html: %v, %.200s", err, page)
	}
}
