package password

import "testing"

// TestDummyHash checks that VerifyDummy goes through Verify with the
// Hasher's own parameters and sizes, which is what makes it cost the same as
// a real login, and that no ordinary password matches it.
func TestDummyHash(t *testing.T) {
	custom := Hasher{Params: Params{Memory: 64, Time: 2, Threads: 1}}
	tests := []struct {
		name string
		h    Hasher
	}{
		{"Default", Hasher{}},
		{"Custom", custom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if enc := tt.h.dummyHash(); tt.h.NeedsRehash(enc) {
				t.Fatalf("dummy hash %q does not match the Hasher's parameters", enc)
			}
		})
	}
	t.Run("NoMatch", func(t *testing.T) {
		for _, plain := range []string{"", "password", "\x00"} {
			if ok, err := custom.Verify(plain, custom.dummyHash()); ok || err != nil {
				t.Fatalf("Verify(%q, dummy) = %v, %v; want false, nil", plain, ok, err)
			}
		}
	})
}
