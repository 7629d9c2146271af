package eonpro_test

import (
	"testing"

	"github.com/eonpro/eonpro"
)

func TestCleanText(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"OK", "Ada Lovelace", "Ada Lovelace", true},
		{"Trimmed", "  Ada \t", "Ada", true},
		{"Empty", "", "", true},
		{"NFDBecomesNFC", "Rene\u0301e", "Ren\u00e9e", true},
		{"AlreadyNFC", "Zo\u00eb", "Zo\u00eb", true},
		{"NonLatin", "山田 太郎", "山田 太郎", true},
		{"NoBreakSpace", "Jean\u00a0Luc", "Jean\u00a0Luc", true},
		{"EmojiWithVariationSelector", "Sam \u2764\ufe0f", "Sam \u2764\ufe0f", true},
		{"ErrZeroWidthSpaceAlone", "\u200b", "\u200b", false},
		{"ErrZeroWidthSpace", "A\u200bda", "A\u200bda", false},
		{"ErrZeroWidthJoiner", "A\u200dda", "A\u200dda", false},
		{"ErrLeftToRightMark", "Ada\u200e", "Ada\u200e", false},
		{"ErrRightToLeftOverride", "Ada\u202eecalevol", "Ada\u202eecalevol", false},
		{"ErrRightToLeftIsolate", "\u2067Ada\u2069", "\u2067Ada\u2069", false},
		{"ErrWordJoiner", "Ada\u2060", "Ada\u2060", false},
		{"ErrInvisibleTimes", "Ada\u2062", "Ada\u2062", false},
		{"ErrBOM", "\ufeffAda", "\ufeffAda", false},
		{"ErrSoftHyphen", "Love\u00adlace", "Love\u00adlace", false},
		{"ErrTagCharacter", "Ada\U000e0041", "Ada\U000e0041", false},
		{"ErrTagBlockUnassigned", "Ada\U000e0000", "Ada\U000e0000", false},
		{"ErrPrivateUse", "Ada\ue000", "Ada\ue000", false},
		{"ErrSupplementaryPrivateUse", "Ada\U000f0000", "Ada\U000f0000", false},
		{"ErrNoncharacter", "Ada\ufdd0", "Ada\ufdd0", false},
		{"ErrNoncharacterEndOfPlane", "Ada\U0001fffe", "Ada\U0001fffe", false},
		{"ErrNUL", "Ada\x00", "Ada\x00", false},
		{"ErrEscape", "Ada\x1b[31m", "Ada\x1b[31m", false},
		{"ErrDelete", "Ada\x7f", "Ada\x7f", false},
		{"ErrC1Control", "A\u0085da", "A\u0085da", false},
		{"ErrLineFeed", "Ada\nLovelace", "Ada\nLovelace", false},
		{"ErrInteriorTab", "Ada\tLovelace", "Ada\tLovelace", false},
		{"ErrLineSeparator", "Ada\u2028Lovelace", "Ada\u2028Lovelace", false},
		{"ErrInvalidUTF8", "Ada\xff", "Ada", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := eonpro.CleanText(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("CleanText(%+q) = %+q, %t; want %+q, %t", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestCleanMultilineText(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"OK", "Board certified.\nSees adults.", "Board certified.\nSees adults.", true},
		{"CRLF", "One.\r\nTwo.\r\n", "One.\nTwo.", true},
		{"NFDBecomesNFC", "Cafe\u0301\nOK", "Caf\u00e9\nOK", true},
		{"ErrLoneCarriageReturn", "One.\rTwo.", "One.\rTwo.", false},
		{"ErrRightToLeftOverride", "One.\n\u202eTwo.", "One.\n\u202eTwo.", false},
		{"ErrZeroWidthSpace", "\u200b", "\u200b", false},
		{"ErrTab", "One.\tTwo.", "One.\tTwo.", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := eonpro.CleanMultilineText(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("CleanMultilineText(%+q) = %+q, %t; want %+q, %t", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}
