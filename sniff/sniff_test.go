package sniff_test

import (
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sniff"
)

// ftyp builds an ISO BMFF file start: an ftyp box with the brands.
func ftyp(major string, compatible ...string) string {
	body := major + "\x00\x00\x00\x00" + strings.Join(compatible, "")
	return string([]byte{0, 0, 0, byte(8 + len(body))}) + "ftyp" + body + "\x00\x00\x00\x08meta"
}

func TestContentType(t *testing.T) {
	for _, tt := range []struct {
		name, content, want string
	}{
		{"PDF", "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", eonpro.ContentTypePDF},
		{"PNG", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", eonpro.ContentTypePNG},
		{"JPEG", "\xff\xd8\xff\xe0\x00\x10JFIF\x00", eonpro.ContentTypeJPEG},
		{"JPEGExif", "\xff\xd8\xff\xe1\x00\x18Exif\x00\x00", eonpro.ContentTypeJPEG},
		{"HEIC", ftyp("heic", "mif1", "heic"), eonpro.ContentTypeHEIC},
		{"HEIX", ftyp("heix", "mif1", "heix"), eonpro.ContentTypeHEIC},
		{"HEIFWithHEICBrand", ftyp("mif1", "mif1", "heic"), eonpro.ContentTypeHEIC},
		{"Text", "Potassium 4.1 mmol/L\r\n\tNormal range\n", eonpro.ContentTypeText},
		{"TextUTF8", "Muñoz — résultat ✓\n", eonpro.ContentTypeText},
		{"ErrHTML", "<!DOCTYPE html><script>alert(1)</script>", "text/html; charset=utf-8"},
		{"ErrHTMLAfterSpace", "\n  <html><body>", "text/html; charset=utf-8"},
		{"ErrXML", "<?xml version=\"1.0\"?><svg/>", "text/xml; charset=utf-8"},
		{"ErrEXE", "MZ\x90\x00\x03\x00\x00\x00\x04\x00", "application/vnd.microsoft.portable-executable"},
		{"ErrELF", "\x7fELF\x02\x01\x01", "application/x-elf"},
		{"ErrZIP", "PK\x03\x04\x14\x00", "application/zip"},
		{"ErrGIF", "GIF89a\x01\x00", "image/gif"},
		{"ErrAVIF", ftyp("avif", "mif1", "avif"), "application/octet-stream"},
		{"ErrHEIFAsAVIF", ftyp("mif1", "mif1", "avif"), "application/octet-stream"},
		{"ErrShortFtyp", "\x00\x00\x00\x40ftypheic", "application/octet-stream"},
		{"ErrUTF16", "\xff\xfeH\x00i\x00", "text/plain; charset=utf-16le"},
		{"ErrNULAfterSniffWindow", strings.Repeat("a", 600) + "\x00", "application/octet-stream"},
		{"ErrLatin1AfterSniffWindow", strings.Repeat("a", 600) + "Mu\xf1oz", "application/octet-stream"},
		{"ErrEscapeAfterSniffWindow", strings.Repeat("a", 600) + "\x1b[2J", "application/octet-stream"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := sniff.ContentType([]byte(tt.content)); got != tt.want {
				t.Errorf("ContentType = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	for _, tt := range []struct {
		declared, sniffed string
		want              bool
	}{
		{"", eonpro.ContentTypePDF, true},
		{"application/octet-stream", eonpro.ContentTypePNG, true},
		{"application/pdf", eonpro.ContentTypePDF, true},
		{"Application/PDF", eonpro.ContentTypePDF, true},
		{"application/x-pdf", eonpro.ContentTypePDF, true},
		{"image/jpg", eonpro.ContentTypeJPEG, true},
		{"image/heif", eonpro.ContentTypeHEIC, true},
		{"text/plain", eonpro.ContentTypeText, true},
		{"text/plain; charset=UTF-8", eonpro.ContentTypeText, true},
		{"text/plain; charset=us-ascii", eonpro.ContentTypeText, true},
		{"text/plain; charset=iso-8859-1", eonpro.ContentTypeText, false},
		{"application/pdf", eonpro.ContentTypePNG, false},
		{"image/png", eonpro.ContentTypeJPEG, false},
		{"text/html", eonpro.ContentTypeText, false},
		{"text/plain", eonpro.ContentTypePDF, false},
		{"not a type", eonpro.ContentTypePDF, false},
	} {
		if got := sniff.Matches(tt.declared, tt.sniffed); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tt.declared, tt.sniffed, got, tt.want)
		}
	}
}
