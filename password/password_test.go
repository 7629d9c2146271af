package password_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/eonpro/eonpro/password"
)

// cheap keeps the tests fast; the format and code paths are the same.
var cheap = password.Hasher{Params: password.Params{Memory: 64, Time: 1, Threads: 1}}

func TestHash(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		enc, err := cheap.Hash("correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		if want := "$argon2id$v=19$m=64,t=1,p=1$"; !strings.HasPrefix(enc, want) {
			t.Fatalf("encoded = %q, want prefix %q", enc, want)
		}
		if ok, err := cheap.Verify("correct horse battery staple", enc); err != nil || !ok {
			t.Fatalf("Verify = %v, %v; want true, nil", ok, err)
		}
	})
	t.Run("SaltedUniquely", func(t *testing.T) {
		a, _ := cheap.Hash("same password")
		b, _ := cheap.Hash("same password")
		if a == b {
			t.Fatalf("two hashes of one password are equal: %q", a)
		}
	})
	t.Run("ErrBadParams", func(t *testing.T) {
		h := password.Hasher{Params: password.Params{Memory: 64, Threads: 1}}
		if _, err := h.Hash("x"); err == nil {
			t.Fatal("want an error for Time 0")
		}
	})
}

func TestVerify(t *testing.T) {
	// Made by another implementation (hash-wasm 4, npm) to pin the format.
	const vector = "$argon2id$v=19$m=256,t=2,p=1$ZW9ucHJvLXRlc3Qtc2FsdA$Xx0kIezBlTspdmj1DO7/2seh3WCCqc84JR4Sachju2I"
	enc, err := cheap.Hash("Tr0ub4dour&3 is old")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, plain, encoded string
		want                 bool
	}{
		{"OK", "Tr0ub4dour&3 is old", enc, true},
		{"ErrWrongPassword", "Tr0ub4dour&3 is new", enc, false},
		{"ErrCase", "tr0ub4dour&3 is old", enc, false},
		{"ErrEmpty", "", enc, false},
		{"OtherImplementation", "correct horse battery staple", vector, true},
		{"OtherImplementationWrong", "correct horse battery stapler", vector, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := password.Verify(tt.plain, tt.encoded)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	const (
		salt = "c29tZXNhbHRzb21lc2FsdA"                      // 16 bytes
		key  = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 32 bytes
	)
	tests := []struct{ name, encoded string }{
		{"Empty", ""},
		{"Bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"Argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"NoLeadingDollar", "argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"OldVersion", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"NoVersion", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"ExtraField", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$x"},
		{"ParamsOutOfOrder", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key},
		{"ParamsMissing", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key},
		{"ParamsSigned", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key},
		{"ParamsText", "$argon2id$v=19$m=lots,t=1,p=1$" + salt + "$" + key},
		{"TimeZero", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{"ThreadsZero", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key},
		{"ThreadsOverflow", "$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key},
		{"MemoryTooSmall", "$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key},
		{"MemoryTooLarge", "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key},
		{"SaltPadded", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key},
		{"SaltNotBase64", "$argon2id$v=19$m=64,t=1,p=1$" + "!!!!!!!!!!!!" + "$" + key},
		{"SaltTooShort", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key},
		{"KeyEmpty", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$"},
		{"KeyTooShort", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAAAAAAA"},
		{"KeyURLSafe", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("_", 43)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := cheap.Verify("anything", tt.encoded)
			if !errors.Is(err, password.ErrMalformedHash) {
				t.Fatalf("err = %v, want ErrMalformedHash", err)
			}
			if ok {
				t.Fatal("Verify = true for a malformed hash")
			}
			if !cheap.NeedsRehash(tt.encoded) {
				t.Fatal("NeedsRehash = false for a malformed hash")
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	hashWith := func(p password.Params) string {
		t.Helper()
		enc, err := password.Hasher{Params: p}.Hash("correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	tests := []struct {
		name    string
		encoded string
		want    bool
	}{
		{"Current", hashWith(cheap.Params), false},
		{"OtherMemory", hashWith(password.Params{Memory: 128, Time: 1, Threads: 1}), true},
		{"OtherTime", hashWith(password.Params{Memory: 64, Time: 2, Threads: 1}), true},
		{"OtherThreads", hashWith(password.Params{Memory: 64, Time: 1, Threads: 2}), true},
		{"ShortSalt", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$" + strings.Repeat("A", 43), true},
		{"ShortKey", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$" + strings.Repeat("A", 22), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cheap.NeedsRehash(tt.encoded); got != tt.want {
				t.Fatalf("NeedsRehash(%q) = %v, want %v", tt.encoded, got, tt.want)
			}
		})
	}
	t.Run("Default", func(t *testing.T) {
		if !password.NeedsRehash(hashWith(cheap.Params)) {
			t.Fatal("a cheap hash does not need a rehash under DefaultParams")
		}
	})
}

func TestVerifyDummy(t *testing.T) {
	// Only that it runs; dummy_test.go checks that it costs a real Verify.
	cheap.VerifyDummy("correct horse battery staple")
}

func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := password.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	enc, err := password.Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _ := password.Verify("correct horse battery staple", enc); !ok {
			b.Fatal("Verify = false")
		}
	}
}

func BenchmarkVerifyDummy(b *testing.B) {
	for b.Loop() {
		password.VerifyDummy("correct horse battery staple")
	}
}
