package phi_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eonpro/eonpro/phi"
)

// testMaster checks the MasterKey contract on m: a wrapped key unwraps for
// its own context only.
func testMaster(t *testing.T, m phi.MasterKey) {
	t.Helper()
	ctx := context.Background()
	key := bytes.Repeat([]byte{7}, 32)
	kc := phi.KeyContext{ClinicID: clinicA, Purpose: phi.PurposeEncrypt, Version: 1}
	wrapped, err := m.Wrap(ctx, key, kc)
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	if bytes.Contains(wrapped, key) {
		t.Error("wrapped key contains the key")
	}
	if got, err := m.Unwrap(ctx, wrapped, kc); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("Unwrap = %x, %v", got, err)
	}
	for name, other := range map[string]phi.KeyContext{
		"ErrOtherClinic":  {ClinicID: clinicB, Purpose: phi.PurposeEncrypt, Version: 1},
		"ErrOtherPurpose": {ClinicID: clinicA, Purpose: phi.PurposeIndex, Version: 1},
		"ErrOtherVersion": {ClinicID: clinicA, Purpose: phi.PurposeEncrypt, Version: 2},
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := m.Unwrap(ctx, wrapped, other); err == nil {
				t.Errorf("Unwrap with the wrong context = %x, want an error", got)
			}
		})
	}
	wrapped[len(wrapped)-1] ^= 1
	if _, err := m.Unwrap(ctx, wrapped, kc); err == nil {
		t.Error("Unwrap of a tampered key succeeded")
	}
}

func TestLocalMaster(t *testing.T) {
	m := newMaster(t)
	testMaster(t, m)
	if !strings.HasPrefix(m.ID(), "local:") || len(m.ID()) != len("local:")+16 {
		t.Errorf("ID = %q, want local:<16 hex>", m.ID())
	}
	if other := newMaster(t); other.ID() == m.ID() {
		t.Error("two master keys share an id")
	}
	t.Run("ErrOtherMaster", func(t *testing.T) {
		kc := phi.KeyContext{ClinicID: clinicA, Purpose: phi.PurposeEncrypt, Version: 1}
		w, _ := m.Wrap(context.Background(), make([]byte, 32), kc)
		if _, err := newMaster(t).Unwrap(context.Background(), w, kc); err == nil {
			t.Error("another master key unwrapped the key")
		}
	})
}

func TestParseLocalMaster(t *testing.T) {
	for _, tt := range []struct{ name, in string }{
		{"ErrShort", "c2hvcnQ="},
		{"ErrNotBase64", "not base64!"},
		{"ErrEmpty", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := phi.ParseLocalMaster(tt.in); err == nil || !strings.Contains(err.Error(), "32 bytes") {
				t.Errorf("ParseLocalMaster(%q) = %v, want an error naming 32 bytes", tt.in, err)
			}
		})
	}
	t.Run("File", func(t *testing.T) {
		key := phi.GenerateLocalMasterKey()
		path := filepath.Join(t.TempDir(), "master.key")
		if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fromFile, err := phi.LoadLocalMaster(path)
		if err != nil {
			t.Fatal(err)
		}
		fromEnv, _ := phi.ParseLocalMaster(key)
		if fromFile.ID() != fromEnv.ID() {
			t.Errorf("file and variable give different keys: %s, %s", fromFile.ID(), fromEnv.ID())
		}
		if _, err := phi.LoadLocalMaster(path + ".missing"); err == nil {
			t.Error("missing file accepted")
		}
	})
}
