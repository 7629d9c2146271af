// Command screenshots signs in to a running EONPRO (e.g. `eonpro serve
// --demo`) in headless Chromium and saves the README's screenshots: the
// sign-in page, the dashboard and a patient's page.
//
//	go run ./tools/screenshots -base http://127.0.0.1:8080 -out docs/screenshots
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	base := flag.String("base", "http://127.0.0.1:8080", "where the platform runs")
	email := flag.String("email", "admin@sunrise.example.test", "who signs in")
	password := flag.String("password", "eonpro-demo-2026", "their password")
	out := flag.String("out", "docs/screenshots", "directory for the PNG files")
	chromium := flag.String("chromium", "/usr/bin/chromium", "the browser")
	extra := flag.String("extra", "", "more pages to capture, comma-separated paths (for review; saved as path-with-dashes.png)")
	width := flag.Int64("width", 1280, "viewport width (390 shows the phone layout)")
	patient := flag.String("patient", "Smith, Alex", "the patient whose page to capture, as the patients list names them (\"\" for the first)")
	flag.Parse()
	var pages []string
	if *extra != "" {
		pages = strings.Split(*extra, ",")
	}
	if err := run(*base, *email, *password, *out, *chromium, *width, *patient, pages); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
}

func run(base, email, password, out, chromium string, width int64, name string, extra []string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("disable-background-networking", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, time.Minute)
	defer cancel()

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, t)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(out, name), png, 0o644)
		})
	}
	// The first patient link on the patients page.
	var patient string
	firstPatient := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		q, _ := json.Marshal(name)
		href, err := chromedp.Evaluate[string](`(function (name) {
			const links = [...document.querySelectorAll("main a[href^='/patients/']:not([href='/patients/new'])")];
			const a = links.find(a => name === "" || a.textContent.includes(name));
			return a ? a.getAttribute("href") : "";
		})(`+string(q)+`)`)(ctx, t)
		if err != nil {
			return err
		}
		if href == "" {
			return fmt.Errorf("no patient on %s/patients", base)
		}
		patient = href
		return nil
	})
	_, err := chromedp.Run(ctx, chromedp.Steps(
		chromedp.EmulateViewport(width, 860),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		shot("sign-in.png"),
		chromedp.SetValue(chromedp.CSS("#email"), email),
		chromedp.SetValue(chromedp.CSS("#password"), password),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
		chromedp.Sleep(300*time.Millisecond),
		shot("dashboard.png"),
	))
	if err != nil {
		return err
	}
	for _, p := range extra {
		name := strings.Trim(strings.NewReplacer("/", "-", "?", "-", "=", "-", "&", "-").Replace(p), "-") + ".png"
		if _, err := chromedp.Run(ctx, chromedp.Steps(
			chromedp.Navigate(base+p),
			chromedp.WaitVisible(chromedp.CSS("main")),
			chromedp.Sleep(500*time.Millisecond),
			shot(name),
		)); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	if _, err := chromedp.Run(ctx, chromedp.Steps(
		chromedp.Navigate(base+"/patients"),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
		chromedp.Sleep(300*time.Millisecond),
		firstPatient,
	)); err != nil {
		return err
	}
	_, err = chromedp.Run(ctx, chromedp.Steps(
		chromedp.Navigate(base+patient),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
		chromedp.Sleep(300*time.Millisecond),
		shot("patient.png"),
	))
	return err
}
