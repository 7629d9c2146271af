package twiliofake

import (
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	for _, tt := range []struct {
		name string
		body string
		want int
	}{
		{"GSMOne", strings.Repeat("a", 160), 1},
		{"GSMTwo", strings.Repeat("a", 161), 2},
		{"GSMThree", strings.Repeat("a", 307), 3},
		{"GSMExtensionCountsTwo", strings.Repeat("€", 80), 1},
		{"GSMExtensionOverflows", strings.Repeat("€", 81), 2},
		{"UCS2One", strings.Repeat("é", 69) + "ł", 1},
		{"UCS2Two", strings.Repeat("ł", 71), 2},
		{"UCS2EmojiIsTwoUnits", strings.Repeat("😀", 35), 1},
		{"UCS2EmojiOverflows", strings.Repeat("😀", 36), 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := segments(tt.body); got != tt.want {
				t.Errorf("segments = %d, want %d", got, tt.want)
			}
		})
	}
}
