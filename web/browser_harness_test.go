package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	cdpnetwork "github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const (
	// browserTestTimeout bounds everything one test does in its browser.
	browserTestTimeout = 60 * time.Second
	// browserWaitTimeout bounds one step, so a missing element fails the
	// test in seconds instead of using up the whole test's time.
	browserWaitTimeout = 10 * time.Second
	// browserCleanupGrace is how long the browser outlives the test's
	// deadline, so a test that timed out still gets its screenshot.
	browserCleanupGrace = 15 * time.Second
	// browserPollInterval is how often a polled wait looks again.
	browserPollInterval = 100 * time.Millisecond
)

// browser drives one headless Chromium tab for one test. Every helper fails
// the test, naming the page it was on, when its step fails or times out.
// When the test ends the browser reports, as test errors, every page of
// baseURL served without the security headers and every JavaScript error;
// if the test failed it first saves a screenshot and the page's HTML.
type browser struct {
	t       *testing.T
	baseURL string
	origin  *url.URL
	tab     context.Context // the tab itself; no deadline
	ctx     context.Context // the tab with the test's deadline
	wait    time.Duration   // limit of one step
	ready   bool            // the browser started

	mu         sync.Mutex
	violations []string
	jsErrs     []string
	allowJS    bool
}

// newBrowser starts one Chromium for t, pointed at baseURL (an origin such as
// an httptest.Server's URL). Without a Chromium it skips t, or fails it when
// $CI is set: CI must run the browser tests.
func newBrowser(t *testing.T, baseURL string) *browser {
	t.Helper()
	execPath := chromiumPath()
	if execPath == "" {
		const msg = "no Chromium: install Debian's chromium (apt-get install chromium) or set EONPRO_CHROMIUM"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; CI must run the browser tests")
		}
		t.Skip(msg)
	}
	origin, err := url.Parse(baseURL)
	if err != nil || origin.Host == "" {
		t.Fatalf("newBrowser: base URL %q is not absolute", baseURL)
	}
	deadline := time.Now().Add(browserTestTimeout)
	if d, ok := t.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	root, cancelRoot := context.WithDeadline(context.Background(), deadline.Add(browserCleanupGrace))
	alloc, cancelAlloc := chromedp.NewExecAllocator(root, browserOptions(execPath)...)
	tab, cancelTab := chromedp.NewContext(alloc)
	ctx, cancelCtx := context.WithDeadline(tab, deadline)
	b := &browser{t: t, baseURL: strings.TrimSuffix(baseURL, "/"), origin: origin,
		tab: tab, ctx: ctx, wait: browserWaitTimeout}
	t.Cleanup(func() {
		b.finish()
		cancelCtx()
		cancelTab()
		cancelAlloc()
		cancelRoot()
	})
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start %s: %v", execPath, err)
	}
	if err := chromedp.Listen(tab, b.observe); err != nil {
		t.Fatalf("listen to the browser: %v", err)
	}
	b.ready = true
	return b
}

// chromiumPath returns the browser to run: $EONPRO_CHROMIUM when set (and
// nothing else, so a wrong setting is noticed), else Debian's
// /usr/bin/chromium, else the first of the names chromedp looks for on the
// PATH. It returns "" when there is none.
func chromiumPath() string {
	if p := os.Getenv("EONPRO_CHROMIUM"); p != "" {
		found, _ := exec.LookPath(p)
		return found
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser",
		"google-chrome", "google-chrome-stable", "headless-shell", "headless_shell", "chrome"} {
		if found, err := exec.LookPath(name); err == nil {
			return found
		}
	}
	return ""
}

// browserOptions are chromedp's defaults plus the flags a container needs:
// no sandbox (tests often run as root), no GPU, no background traffic.
func browserOptions(execPath string) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(1280, 900),
	)
}

// finish flushes the browser's events, reports what they showed and, when
// the test failed, saves the page. It runs before the browser closes.
func (b *browser) finish() {
	if !b.ready {
		return
	}
	// A round trip delivers every event the browser sent before it.
	ctx, cancel := context.WithTimeout(b.tab, 2*time.Second)
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("0"))
	cancel()
	for _, v := range b.takeHeaderViolations() {
		b.t.Errorf("security headers: %s", v)
	}
	b.mu.Lock()
	allow := b.allowJS
	b.mu.Unlock()
	if !allow {
		for _, e := range b.takeJSErrors() {
			b.t.Errorf("JavaScript error: %s (call b.allowConsoleErrors() if the test expects it)", e)
		}
	}
	if b.t.Failed() {
		b.saveArtifacts()
	}
}

// allowConsoleErrors keeps JavaScript errors from failing the test, for a
// test that provokes them on purpose.
func (b *browser) allowConsoleErrors() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.allowJS = true
}

// takeHeaderViolations returns the security-header violations seen so far
// and forgets them, so a test that expects them is not failed for them.
func (b *browser) takeHeaderViolations() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := b.violations
	b.violations = nil
	return v
}

// takeJSErrors returns the JavaScript errors seen so far and forgets them.
func (b *browser) takeJSErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.jsErrs
	b.jsErrs = nil
	return e
}

// observe sees every event of the tab. It runs on chromedp's reader
// goroutine, so it only records.
func (b *browser) observe(ev any) {
	switch ev := ev.(type) {
	case *cdpnetwork.EventResponseReceived:
		b.checkResponse(ev)
	case *cdpruntime.EventExceptionThrown:
		b.addJSError(exceptionText(ev.ExceptionDetails))
	case *cdpruntime.EventConsoleAPICalled:
		if ev.Type == cdpruntime.ConsoleAPICalledTypeError || ev.Type == cdpruntime.ConsoleAPICalledTypeAssert {
			b.addJSError("console." + string(ev.Type) + ": " + consoleArgsText(ev.Args))
		}
	case *cdplog.EventEntryAdded:
		// Network entries repeat failed loads, which checkResponse judges
		// itself: a 4xx page can be the point of a test, a 404 script never is.
		if e := ev.Entry; e.Level == cdplog.EntryLevelError && e.Source != cdplog.EntrySourceNetwork {
			b.addJSError(fmt.Sprintf("%s: %s (%s)", e.Source, e.Text, e.URL))
		}
	}
}

// checkResponse records a page of the app without its security headers,
// and a script, style sheet, image or font of the app that failed to load.
func (b *browser) checkResponse(ev *cdpnetwork.EventResponseReceived) {
	r := ev.Response
	if r == nil || !b.sameOrigin(r.URL) {
		return
	}
	switch ev.Type {
	case cdpnetwork.ResourceTypeDocument:
		for _, problem := range securityHeaderProblems(r.Headers) {
			b.addViolation(fmt.Sprintf("%s (status %d): %s", r.URL, r.Status, problem))
		}
	case cdpnetwork.ResourceTypeScript, cdpnetwork.ResourceTypeStylesheet,
		cdpnetwork.ResourceTypeImage, cdpnetwork.ResourceTypeFont:
		if r.Status >= 400 {
			b.addJSError(fmt.Sprintf("failed to load %s %s: status %d", strings.ToLower(string(ev.Type)), r.URL, r.Status))
		}
	}
}

func (b *browser) sameOrigin(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == b.origin.Scheme && u.Host == b.origin.Host
}

func (b *browser) addViolation(v string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.violations = append(b.violations, v)
}

func (b *browser) addJSError(e string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.jsErrs = append(b.jsErrs, e)
}

// securityPageHeaders are the headers every page of the app must carry: transport
// security, no MIME sniffing, no framing (both the old and the CSP way) and
// no referrer leaking patient URLs.
var securityPageHeaders = []struct {
	name, want string
	ok         func(string) bool
}{
	{"Strict-Transport-Security", "max-age=…", func(v string) bool { return strings.Contains(strings.ToLower(v), "max-age=") }},
	{"X-Content-Type-Options", "nosniff", func(v string) bool { return strings.EqualFold(v, "nosniff") }},
	{"X-Frame-Options", "DENY", func(v string) bool { return strings.EqualFold(v, "DENY") }},
	{"Content-Security-Policy", "… frame-ancestors 'none' …", func(v string) bool { return strings.Contains(v, "frame-ancestors 'none'") }},
	{"Referrer-Policy", "no-referrer", func(v string) bool { return strings.EqualFold(v, "no-referrer") }},
}

// securityHeaderProblems returns one line for each of securityPageHeaders that h lacks or
// has with a wrong value.
func securityHeaderProblems(h cdpnetwork.Headers) []string {
	var problems []string
	for _, want := range securityPageHeaders {
		v, found := cdpHeaderValue(h, want.name)
		switch {
		case !found:
			problems = append(problems, fmt.Sprintf("header %s is missing", want.name))
		case !want.ok(v):
			problems = append(problems, fmt.Sprintf("header %s is %q, want %s", want.name, v, want.want))
		}
	}
	return problems
}

// cdpHeaderValue looks name up without regard to case, as HTTP does; the
// browser joins repeated headers with newlines.
func cdpHeaderValue(h cdpnetwork.Headers, name string) (string, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return strings.TrimSpace(fmt.Sprint(v)), true
		}
	}
	return "", false
}

// exceptionText is the message and place of an uncaught exception.
func exceptionText(d *cdpruntime.ExceptionDetails) string {
	if d == nil {
		return "uncaught exception"
	}
	text := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		desc, _, _ := strings.Cut(d.Exception.Description, "\n")
		text += " " + desc
	}
	return fmt.Sprintf("%s (%s:%d)", text, d.URL, d.LineNumber+1)
}

// consoleArgsText renders console arguments: strings as they are, other values
// by their description.
func consoleArgsText(args []*cdpruntime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		var s string
		switch {
		case a.Type == cdpruntime.RemoteObjectTypeString && json.Unmarshal(a.Value, &s) == nil:
		case a.Description != "":
			s = a.Description
		default:
			s = string(a.Value)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// saveArtifacts writes a full-page PNG screenshot and the page's HTML to
// browserArtifactDir, named after the test, and logs where.
func (b *browser) saveArtifacts() {
	dir := browserArtifactDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("browser artifacts: %v", err)
		return
	}
	stem := filepath.Join(dir, unsafeArtifactChars.ReplaceAllString(b.t.Name(), "_"))
	ctx, cancel := context.WithTimeout(b.tab, browserWaitTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	b.writeArtifact(stem+".png", png, err)
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.documentElement.outerHTML"))
	b.writeArtifact(stem+".html", []byte(html), err)
}

// unsafeArtifactChars are the characters of a test name kept out of file names.
var unsafeArtifactChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// browserArtifactDir is $EONPRO_BROWSER_ARTIFACTS, or a fixed directory under the
// system's temporary directory so artifacts survive the test's own cleanup.
func browserArtifactDir() string {
	if d := os.Getenv("EONPRO_BROWSER_ARTIFACTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "eonpro-browser-artifacts")
}

func (b *browser) writeArtifact(path string, data []byte, err error) {
	if err == nil {
		err = os.WriteFile(path, data, 0o644)
	}
	if err != nil {
		b.t.Logf("browser artifact %s: %v", path, err)
		return
	}
	b.t.Logf("browser artifact: %s", path)
}

// browserStep runs a with one step's time limit. Its error names the step and
// the page the browser was on.
func browserStep[T any](b *browser, what string, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, b.wait)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		return v, fmt.Errorf("%s (on %s): %w", what, b.location(), err)
	}
	return v, nil
}

// mustBrowserStep is browserStep that fails the test on error.
func mustBrowserStep[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := browserStep(b, what, a)
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

// poll calls cond until it reports true or the step's time runs out. An
// error from cond (a page mid-navigation has no document) means "not yet";
// the last one is in the returned error.
func (b *browser) poll(what string, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(b.ctx, b.wait)
	defer cancel()
	var last error
	for {
		ok, err := cond(ctx)
		if ok && err == nil {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s (on %s): gave up after %s (last error: %v)", what, b.location(), b.wait, last)
		case <-time.After(browserPollInterval):
		}
	}
}

// location is the page's URL for error messages. It uses the tab without
// the test's deadline, so it still works once that has passed.
func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.tab, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "unknown page: " + err.Error()
	}
	return loc
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// visit loads baseURL+path and waits until it has loaded.
func (b *browser) visit(path string) {
	b.t.Helper()
	mustBrowserStep(b, "visit "+path, chromedp.Steps(
		chromedp.Navigate(b.baseURL+path),
		chromedp.WaitReady(chromedp.CSS("body")),
	))
}

// url returns the page's current URL.
func (b *browser) url() string {
	b.t.Helper()
	return mustBrowserStep(b, "read the location", chromedp.Location())
}

// waitURL waits until the page's path (with its query) starts with prefix,
// as after a click that navigates or a redirect.
func (b *browser) waitURL(prefix string) {
	b.t.Helper()
	err := b.poll("wait for the URL "+prefix+"…", func(ctx context.Context) (bool, error) {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			return false, err
		}
		u, err := url.Parse(loc)
		return err == nil && b.sameOrigin(loc) && strings.HasPrefix(u.RequestURI(), prefix), err
	})
	if err != nil {
		b.t.Fatal(err)
	}
}

// fill sets the value of the visible input, textarea or select sel and
// fires input and change events, as a paste would. It is exact where typing
// is not (date inputs, selects); use typeKeys to test key handlers.
func (b *browser) fill(sel, value string) {
	b.t.Helper()
	mustBrowserStep(b, "fill "+sel, chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](`(function (el, v) {
			el.focus();
			el.value = v;
			el.dispatchEvent(new Event("input", {bubbles: true}));
			el.dispatchEvent(new Event("change", {bubbles: true}));
		})(document.querySelector(`+jsString(sel)+`), `+jsString(value)+`)`),
	))
}

// typeKeys types text into the visible element sel with real key events,
// after what it already holds, as a person would (search-as-you-type).
func (b *browser) typeKeys(sel, text string) {
	b.t.Helper()
	mustBrowserStep(b, "type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

// click clicks the visible element sel with the mouse.
func (b *browser) click(sel string) {
	b.t.Helper()
	mustBrowserStep(b, "click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// submit submits the form of sel (a form, a submit button, or a field in
// the form) as pressing Enter would, with the form's validation and submit
// handlers, and waits for the page that answers. A form that JavaScript
// handles without loading a page needs click instead.
func (b *browser) submit(sel string) {
	b.t.Helper()
	mustBrowserStep(b, "find "+sel, chromedp.WaitReady(chromedp.CSS(sel)))
	trigger := chromedp.Evaluate[chromedp.Void](`(function (el) {
		const form = el instanceof HTMLFormElement ? el : el.form || el.closest("form");
		if (!form) throw new Error("not in a form");
		const button = (el.type === "submit" || el.type === "image") && el.form === form;
		form.requestSubmit(button ? el : undefined);
	})(document.querySelector(` + jsString(sel) + `))`)
	mustBrowserStep(b, "submit "+sel+" and wait for the next page", chromedp.WaitEvent(cdppage.LoadEventFired, nil, trigger))
}

// waitVisible waits until sel is in the page and visible.
func (b *browser) waitVisible(sel string) {
	b.t.Helper()
	mustBrowserStep(b, "wait for "+sel+" to be visible", chromedp.WaitVisible(chromedp.CSS(sel)))
}

// waitGone waits until sel is removed from the page or hidden.
func (b *browser) waitGone(sel string) {
	b.t.Helper()
	script := `(function (el) { return !el || el.getClientRects().length === 0; })(document.querySelector(` + jsString(sel) + `))`
	err := b.poll("wait for "+sel+" to go", func(ctx context.Context) (bool, error) {
		return chromedp.Run(ctx, chromedp.Evaluate[bool](script))
	})
	if err != nil {
		b.t.Fatal(err)
	}
}

// waitText waits until the visible text of sel contains want, as after
// search-as-you-type or any other update the page makes by itself.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	script := `(function (el) { return el ? el.innerText : ""; })(document.querySelector(` + jsString(sel) + `))`
	err := b.poll(fmt.Sprintf("wait for %s to show %q", sel, want), func(ctx context.Context) (bool, error) {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](script))
		return strings.Contains(got, want), err
	})
	if err != nil {
		b.t.Fatal(err)
	}
}

// text returns the visible text of sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return mustBrowserStep(b, "read the text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// value returns the value of the input, textarea or select sel.
func (b *browser) value(sel string) string {
	b.t.Helper()
	return mustBrowserStep(b, "read the value of "+sel, chromedp.Value(chromedp.CSS(sel)))
}

// attr returns the attribute name of sel, or "" when sel lacks it.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	return mustBrowserStep(b, "read "+name+" of "+sel, chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}

// html returns the page's current HTML.
func (b *browser) html() string {
	b.t.Helper()
	return mustBrowserStep(b, "read the HTML", chromedp.Evaluate[string]("document.documentElement.outerHTML"))
}

// eval runs the JavaScript expression in the page, waits if it gives a
// promise, and decodes the JSON of its value into out (nil to ignore it).
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	raw := mustBrowserStep(b, "evaluate "+expr, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if out == nil {
		return
	}
	if err := json.Unmarshal(raw, out); err != nil {
		b.t.Fatalf("evaluate %s: decode %q: %v", expr, raw, err)
	}
}

// setFile chooses the files at paths in the file input sel.
func (b *browser) setFile(sel string, paths ...string) {
	b.t.Helper()
	abs := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			b.t.Fatalf("set files of %s: %v", sel, err)
		}
		abs[i] = a
	}
	mustBrowserStep(b, "set files of "+sel, chromedp.SetUploadFiles(chromedp.CSS(sel), abs))
}

// cookies returns the cookies the browser holds for the current page,
// HttpOnly ones included.
func (b *browser) cookies() []*cdpnetwork.Cookie {
	b.t.Helper()
	return mustBrowserStep(b, "read cookies", func(ctx context.Context, t *chromedp.Target) ([]*cdpnetwork.Cookie, error) {
		r, err := cdp.Call(ctx, t, cdpnetwork.GetCookies, cdpnetwork.GetCookiesParams{})
		return r.Cookies, err
	})
}

// browserFetchResult is what the page's fetch gives back.
type browserFetchResult struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// fetch requests path from inside the page with the browser's own cookies,
// as a download link would, and returns the status, the response headers
// (names in lower case) and the body as text.
func (b *browser) fetch(path string) (status int, headers map[string]string, body string) {
	b.t.Helper()
	r := mustBrowserStep(b, "fetch "+path, chromedp.Evaluate[browserFetchResult](`(async function (path) {
		const r = await fetch(path, {credentials: "same-origin"});
		const headers = {};
		r.headers.forEach((v, k) => { headers[k] = v; });
		return {status: r.status, headers: headers, body: await r.text()};
	})(`+jsString(path)+`)`, chromedp.EvalAwaitPromise))
	return r.Status, r.Headers, r.Body
}
