package twiliofake

import (
	"strings"
	"unicode/utf16"
)

// The GSM 03.38 alphabet a text is sent in when every character has a
// place in it: the basic set (one septet each) and the extension table
// (an escape and a septet).
const (
	gsmBasic     = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "^{}\\[~]|€\f"
)

// segments counts the SMS segments of body as carriers bill them: 160
// GSM-7 septets in one segment or 153 in each of several, otherwise UCS-2
// with 70 UTF-16 units in one or 67 in each.
func segments(body string) int {
	units, gsm := 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			units++
		case strings.ContainsRune(gsmExtension, r):
			units += 2
		default:
			gsm = false
		}
	}
	single, each := 160, 153
	if !gsm {
		units = len(utf16.Encode([]rune(body)))
		single, each = 70, 67
	}
	if units <= single {
		return 1
	}
	return (units + each - 1) / each
}
