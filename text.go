package eonpro

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// InvisibleTextMessage is the field message for text that CleanText or
// CleanMultilineText refuses. It never repeats the value.
const InvisibleTextMessage = "must not contain invisible or control characters"

// CleanText normalises a short one-line text (a name, an address line, a
// title) to NFC and trims it. ok is false when it holds a rune that
// shows as nothing or as something else: control characters (Cc), format
// characters (Cf: zero-width spaces and joiners, bidirectional overrides
// and isolates, the BOM, the soft hyphen, tag characters), private-use
// characters (Co), noncharacters, line and paragraph separators, or bytes
// that are not UTF-8. Such a name could pass a required field while
// showing nothing, or read differently in a list or an export.
func CleanText(s string) (clean string, ok bool) {
	return cleanText(s, false)
}

// CleanMultilineText is CleanText for free text of several lines (a
// biography): line feeds are kept, and CRLF, which browsers send from a
// textarea, becomes LF.
func CleanMultilineText(s string) (clean string, ok bool) {
	return cleanText(strings.ReplaceAll(s, "\r\n", "\n"), true)
}

func cleanText(s string, multiline bool) (string, bool) {
	if !utf8.ValidString(s) {
		return strings.TrimSpace(strings.ToValidUTF8(s, "")), false
	}
	s = strings.TrimSpace(norm.NFC.String(s))
	return s, !strings.ContainsFunc(s, func(r rune) bool {
		return hiddenRune(r) && !(multiline && r == '\n')
	})
}

// hiddenRune reports whether r is refused in text (see CleanText).
func hiddenRune(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Zl, unicode.Zp) || noncharacter(r) ||
		(r >= 0xE0000 && r <= 0xE007F) // the tag block, assigned or not
}

// noncharacter reports whether r is one of Unicode's 66 noncharacters:
// U+FDD0..U+FDEF and the last two code points of every plane.
func noncharacter(r rune) bool {
	return (r >= 0xFDD0 && r <= 0xFDEF) || r&0xFFFE == 0xFFFE
}
