package sqlstore

import "testing"

// TestNeutralizeCell pins the OWASP set of leading characters a
// spreadsheet reads as the start of a formula.
func TestNeutralizeCell(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("http://evil.test","x")`: `'=HYPERLINK("http://evil.test","x")`,
		"+1+2":                               "'+1+2",
		"-2+3":                               "'-2+3",
		"@SUM(A1)":                           "'@SUM(A1)",
		"\t=1":                               "'\t=1",
		"\r=1":                               "'\r=1",
		"Mozilla/5.0 =1":                     "Mozilla/5.0 =1",
		"":                                   "",
		"phi.view":                           "phi.view",
	} {
		if got := neutralizeCell(in); got != want {
			t.Errorf("neutralizeCell(%q) = %q, want %q", in, got, want)
		}
	}
}
