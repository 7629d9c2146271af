package password

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCommonList checks the embedded list against the assumptions isCommon
// and Validate make of it.
func TestCommonList(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(commonList, "\n"), "\n")
	if len(lines) < 300 {
		t.Fatalf("list has %d entries, want at least 300", len(lines))
	}
	shortest := MaxLength
	seen := make(map[string]bool, len(lines))
	for i, l := range lines {
		switch {
		case l != strings.ToLower(l):
			t.Errorf("line %d %q is not lower case", i+1, l)
		case l != strings.TrimSpace(l) || strings.ContainsAny(l, " \t"):
			t.Errorf("line %d %q holds white space", i+1, l)
		case seen[l]:
			t.Errorf("line %d %q is a duplicate", i+1, l)
		}
		seen[l] = true
		shortest = min(shortest, utf8.RuneCountInString(l))
	}
	// The list was cut at MinLength; a lower MinLength needs a new cut.
	if shortest != MinLength {
		t.Errorf("shortest entry has %d characters, want MinLength (%d): extract the list again", shortest, MinLength)
	}
}
