package totp_test

import (
	"encoding/base32"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	pqtotp "github.com/pquerna/otp/totp"

	"github.com/eonpro/eonpro/totp"
)

// rfcSecret is the SHA1 key of the RFC 6238 appendix B test vectors,
// "12345678901234567890", in base32.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestGenerate(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		secret, rawURL, err := totp.Generate("EONPRO Clinic", "dr.who@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret); err != nil || len(key) != 20 {
			t.Fatalf("secret %q decodes to %d bytes, %v; want 20", secret, len(key), err)
		}
		u, err := url.Parse(rawURL)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		got := []string{u.Scheme, u.Host, q.Get("secret"), q.Get("issuer"), q.Get("algorithm"), q.Get("digits"), q.Get("period")}
		want := []string{"otpauth", "totp", secret, "EONPRO Clinic", "SHA1", "6", "30"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("URL %q: got %q, want %q", rawURL, got, want)
		}
		now := time.Now()
		code, err := pqtotp.GenerateCode(secret, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := totp.Verify(secret, code, now, 0); !ok {
			t.Fatal("the current code for a new secret does not verify")
		}
	})
	t.Run("Unique", func(t *testing.T) {
		a, _, _ := totp.Generate("EONPRO", "a@example.com")
		b, _, _ := totp.Generate("EONPRO", "a@example.com")
		if a == b {
			t.Fatal("two secrets are equal")
		}
	})
	t.Run("ErrNoIssuer", func(t *testing.T) {
		if _, _, err := totp.Generate("", "a@example.com"); err == nil {
			t.Fatal("want an error for an empty issuer")
		}
	})
}

func TestVerifyRFC6238(t *testing.T) {
	tests := []struct {
		name string
		unix int64
		code string // last 6 digits of the RFC's 8-digit value
	}{
		{"T59", 59, "287082"},
		{"T1111111109", 1111111109, "081804"},
		{"T1111111111", 1111111111, "050471"},
		{"T1234567890", 1234567890, "005924"},
		{"T2000000000", 2000000000, "279037"},
		{"T20000000000", 20000000000, "353130"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, ok := totp.Verify(rfcSecret, tt.code, time.Unix(tt.unix, 0), 0)
			if !ok || step != tt.unix/30 {
				t.Fatalf("Verify = %d, %v; want %d, true", step, ok, tt.unix/30)
			}
		})
	}
}

func TestVerifyWindow(t *testing.T) {
	// 1234567890 starts step 41152263, whose code is 005924.
	const code, step = "005924", 41152263
	t0 := time.Unix(1234567890, 0)
	tests := []struct {
		name   string
		offset time.Duration
		ok     bool
	}{
		{"Now", 0, true},
		{"EndOfStep", 29 * time.Second, true},
		{"Plus30s", 30 * time.Second, true},
		{"Plus59s", 59 * time.Second, true},
		{"Minus1s", -time.Second, true},
		{"Minus30s", -30 * time.Second, true},
		{"ErrPlus60s", 60 * time.Second, false},
		{"ErrMinus31s", -31 * time.Second, false},
		{"ErrMinus60s", -60 * time.Second, false},
		{"ErrPlus1h", time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := totp.Verify(rfcSecret, code, t0.Add(tt.offset), 0)
			if ok != tt.ok {
				t.Fatalf("Verify ok = %v, want %v", ok, tt.ok)
			}
			if ok && got != step {
				t.Fatalf("step = %d, want %d", got, step)
			}
		})
	}
}

func TestVerifyReplay(t *testing.T) {
	const code, step = "005924", 41152263
	t0 := time.Unix(1234567890, 0)
	next, err := pqtotp.GenerateCode(rfcSecret, t0.Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		code     string
		now      time.Time
		lastStep int64
		ok       bool
	}{
		{"First", code, t0, 0, true},
		{"AfterOlderStep", code, t0, step - 1, true},
		{"ErrSameStep", code, t0, step, false},
		{"ErrSameStepLater", code, t0.Add(30 * time.Second), step, false},
		{"ErrLaterStepUsed", code, t0, step + 1, false},
		{"NextCode", next, t0.Add(30 * time.Second), step, true},
		{"NextCodeEarly", next, t0, step, true},
		{"ErrNextCodeUsed", next, t0, step + 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := totp.Verify(rfcSecret, tt.code, tt.now, tt.lastStep); ok != tt.ok {
				t.Fatalf("Verify ok = %v, want %v", ok, tt.ok)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	t0 := time.Unix(1234567890, 0)
	tests := []struct{ name, secret, code string }{
		{"Empty", rfcSecret, ""},
		{"FiveDigits", rfcSecret, "05924"},
		{"SevenDigits", rfcSecret, "0005924"},
		{"EightDigitsRFC", rfcSecret, "89005924"},
		{"Letter", rfcSecret, "00592a"},
		{"Space", rfcSecret, "005 924"},
		{"LeadingSpace", rfcSecret, " 005924"},
		{"Signed", rfcSecret, "+05924"},
		{"FullWidthDigits", rfcSecret, "００５９２４"},
		{"EmptySecret", "", "712049"}, // what an empty HMAC key gives at t0
		{"BadSecret", "not base32!", "005924"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if step, ok := totp.Verify(tt.secret, tt.code, t0, 0); ok {
				t.Fatalf("Verify = %d, true; want false", step)
			}
		})
	}
}

func TestBackupCodes(t *testing.T) {
	format := regexp.MustCompile(`^[2-9a-hjkmnp-z]{4}(-[2-9a-hjkmnp-z]{4}){3}$`)
	t.Run("OK", func(t *testing.T) {
		codes, err := totp.BackupCodes(10)
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != 10 {
			t.Fatalf("got %d codes, want 10", len(codes))
		}
		for _, c := range codes {
			if !format.MatchString(c) {
				t.Errorf("code %q does not match %s", c, format)
			}
		}
	})
	t.Run("Unique", func(t *testing.T) {
		codes, err := totp.BackupCodes(1000)
		if err != nil {
			t.Fatal(err)
		}
		seen := make(map[string]bool)
		letters := make(map[rune]bool)
		for _, c := range codes {
			if seen[c] {
				t.Fatalf("code %q repeats", c)
			}
			seen[c] = true
			for _, r := range strings.ReplaceAll(c, "-", "") {
				letters[r] = true
			}
		}
		// 16,000 draws from 31 letters miss one with odds below 1e-200.
		if len(letters) != 31 {
			t.Fatalf("codes use %d letters, want all 31", len(letters))
		}
	})
	for _, tt := range []struct {
		name string
		n    int
	}{{"ErrZero", 0}, {"ErrNegative", -1}} {
		t.Run(tt.name, func(t *testing.T) {
			if codes, err := totp.BackupCodes(tt.n); err == nil {
				t.Fatalf("BackupCodes(%d) = %q, nil; want an error", tt.n, codes)
			}
		})
	}
}

func TestHashBackupCode(t *testing.T) {
	// sha256("abcdefghjkmnpqrs")
	const want = "54a4c55a9009eae9f27d09ce2693cecaa2f44fd29978f881c314b3c88d7307bb"
	tests := []struct {
		name, code string
		same       bool
	}{
		{"Canonical", "abcd-efgh-jkmn-pqrs", true},
		{"NoHyphens", "abcdefghjkmnpqrs", true},
		{"UpperCase", "ABCD-EFGH-JKMN-PQRS", true},
		{"Spaces", " abcd efgh jkmn pqrs ", true},
		{"MixedSeparators", "AbCd-eFgH jkmn\tPQRS\n", true},
		{"OtherCode", "abcd-efgh-jkmn-pqrt", false},
		{"Truncated", "abcd-efgh-jkmn-pqr", false},
		{"Empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := totp.HashBackupCode(tt.code); (got == want) != tt.same {
				t.Fatalf("HashBackupCode(%q) = %s; same as canonical = %v, want %v", tt.code, got, got == want, tt.same)
			}
		})
	}
}
