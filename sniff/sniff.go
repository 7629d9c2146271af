// Package sniff tells a document's type from its content, never from what
// the client claims: explicit checks of the magic numbers of the types
// documents may have, then the standard library's sniffer
// (http.DetectContentType) to name the rest.
package sniff

import (
	"bytes"
	"encoding/binary"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/eonpro/eonpro"
)

// Types the standard sniffer does not name, for clearer refusals.
const (
	executable = "application/vnd.microsoft.portable-executable"
	elf        = "application/x-elf"
	unknown    = "application/octet-stream"
)

// ContentType returns the media type of content: one of the
// eonpro.ContentType constants for the allowed types, else what
// http.DetectContentType makes of it.
func ContentType(content []byte) string {
	switch {
	case bytes.HasPrefix(content, []byte("%PDF-")):
		return eonpro.ContentTypePDF
	case bytes.HasPrefix(content, []byte("\x89PNG\r\n\x1a\n")):
		return eonpro.ContentTypePNG
	case bytes.HasPrefix(content, []byte{0xff, 0xd8, 0xff}):
		return eonpro.ContentTypeJPEG
	case isHEIC(content):
		return eonpro.ContentTypeHEIC
	case bytes.HasPrefix(content, []byte("MZ")):
		return executable
	case bytes.HasPrefix(content, []byte("\x7fELF")):
		return elf
	}
	detected := http.DetectContentType(content)
	if detected == eonpro.ContentTypeText && !isText(content) {
		// The standard sniffer reads 512 bytes; text must be text throughout.
		return unknown
	}
	return detected
}

// heicBrands are the ISO BMFF brands of HEIF images coded with HEVC.
var heicBrands = []string{"heic", "heix", "heim", "heis"}

// isHEIC reads the leading ftyp box: HEIC when the major brand is a HEIC
// one, or the generic HEIF brand mif1 (or msf1) with a HEIC brand among
// the compatible ones (mif1 alone may be AVIF).
func isHEIC(b []byte) bool {
	if len(b) < 16 || string(b[4:8]) != "ftyp" {
		return false
	}
	size := int(binary.BigEndian.Uint32(b[:4]))
	if size < 16 || size > len(b) {
		return false
	}
	major := string(b[8:12])
	if slices.Contains(heicBrands, major) {
		return true
	}
	if major != "mif1" && major != "msf1" {
		return false
	}
	for i := 16; i+4 <= size; i += 4 {
		if slices.Contains(heicBrands, string(b[i:i+4])) {
			return true
		}
	}
	return false
}

// isText reports whether b is UTF-8 text: valid throughout, and no
// control characters but tab, line feed, form feed and carriage return.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r') || c == 0x7f {
			return false
		}
	}
	return true
}

// aliases map declared types that clients send for the allowed ones.
var aliases = map[string]string{
	"image/jpg":         eonpro.ContentTypeJPEG,
	"image/pjpeg":       eonpro.ContentTypeJPEG,
	"image/heif":        eonpro.ContentTypeHEIC,
	"application/x-pdf": eonpro.ContentTypePDF,
	"text/plain":        eonpro.ContentTypeText,
}

// Matches reports whether a declared type agrees with the sniffed one.
// Declaring nothing ("" or application/octet-stream, which browsers and
// curl send for files they do not know) agrees with anything; a text
// type must not name a charset other than UTF-8 (or US-ASCII, a subset).
func Matches(declared, sniffed string) bool {
	if strings.TrimSpace(declared) == "" {
		return true
	}
	mt, params, err := mime.ParseMediaType(declared)
	if err != nil {
		return false
	}
	if mt == unknown {
		return true
	}
	if cs := strings.ToLower(params["charset"]); mt == "text/plain" && cs != "" && cs != "utf-8" && cs != "us-ascii" {
		return false
	}
	if a, ok := aliases[mt]; ok {
		mt = a
	}
	return mt == sniffed
}
