package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/eonpro/eonpro"
)

const (
	uploadRoute = "POST /api/v1/patients/{id}/documents"
	// multipartOverhead is what the upload body may hold beyond the file:
	// boundaries, part headers and the kind.
	multipartOverhead = 64 << 10
	// uploadTimeout replaces the server's read and write timeouts for an
	// upload, which a phone on a slow network needs minutes for.
	uploadTimeout = 10 * time.Minute
)

func (s *Server) documentRoutes() {
	s.route(uploadRoute, eonpro.PermPatientsWrite, s.handleUploadDocument)
	s.bodyLimits[uploadRoute] = s.cfg.MaxUploadBytes + multipartOverhead
	s.route("GET /api/v1/patients/{id}/documents", eonpro.PermPatientsRead, s.handleListDocuments)
	s.route("GET /api/v1/documents/{id}/content", eonpro.PermPatientsRead, s.handleDocumentContent)
	s.route("DELETE /api/v1/documents/{id}", eonpro.PermPatientsWrite, s.handleArchiveDocument)
}

// handleUploadDocument takes multipart/form-data with a file part (its
// file name and declared type kept) and a kind part, in either order.
func (s *Server) handleUploadDocument(w http.ResponseWriter, r *http.Request) error {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(uploadTimeout)) // not every writer has deadlines
	_ = rc.SetWriteDeadline(time.Now().Add(uploadTimeout))
	mr, err := r.MultipartReader()
	if err != nil {
		return eonpro.Errorf(eonpro.EBADREQUEST, "Send the document as multipart/form-data with a file part and a kind part.")
	}
	nd, err := s.readUpload(mr)
	if err != nil {
		return err
	}
	d, err := s.cfg.Documents.CreateDocument(auditContext(r), r.PathValue("id"), nd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

// readUpload reads the parts of an upload; the file is read whole, up to
// the upload limit. Unknown or repeated parts are EBADREQUEST naming them.
func (s *Server) readUpload(mr *multipart.Reader) (eonpro.NewDocument, error) {
	var nd eonpro.NewDocument
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			return nd, uploadError(err)
		}
		name := part.FormName()
		if (name != "file" && name != "kind") || seen[name] {
			return nd, &eonpro.Error{Code: eonpro.EBADREQUEST, Message: "The upload has an unknown or repeated part.",
				Fields: map[string]string{name: "is not a known part, or is repeated"}}
		}
		seen[name] = true
		if err := s.readPart(part, &nd); err != nil {
			return nd, err
		}
	}
	fields := map[string]string{}
	for _, name := range []string{"file", "kind"} {
		if !seen[name] {
			fields[name] = "is required"
		}
	}
	if len(fields) > 0 {
		return nd, &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are missing.", Fields: fields}
	}
	return nd, nil
}

// readPart reads the kind (a few bytes) or the file (up to the upload
// limit, with its name and declared type) into nd.
func (s *Server) readPart(part *multipart.Part, nd *eonpro.NewDocument) error {
	limit := int64(64)
	if part.FormName() == "file" {
		limit = s.cfg.MaxUploadBytes
		// Browsers and curl send a quote in a file name as %22 (HTML's
		// multipart encoding); a literal "%22" cannot be told apart.
		nd.Filename = strings.ReplaceAll(part.FileName(), "%22", `"`)
		nd.ContentType = part.Header.Get("Content-Type")
	}
	b, err := io.ReadAll(io.LimitReader(part, limit+1))
	if err != nil {
		return uploadError(err)
	}
	if part.FormName() == "kind" {
		nd.Kind = eonpro.DocumentKind(strings.TrimSpace(string(b)))
		return nil
	}
	if int64(len(b)) > limit {
		return &eonpro.Error{Code: eonpro.ETOOLARGE, Message: fmt.Sprintf("The file is larger than the limit of %d bytes.", limit),
			Fields: map[string]string{"file": "is too large"}}
	}
	nd.Content = b
	return nil
}

// uploadError turns a failure to read the upload into 413 when the body
// went over the limit, else 400.
func uploadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return eonpro.Errorf(eonpro.ETOOLARGE, "The request body is too large.")
	}
	return eonpro.Errorf(eonpro.EBADREQUEST, "The multipart body is malformed.")
}

func (s *Server) handleListDocuments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := eonpro.DocumentFilter{PatientID: r.PathValue("id"), Status: optional(q, "status"), Cursor: q.Get("cursor")}
	var err error
	if f.Limit, err = optionalInt(q, "limit"); err != nil {
		return err
	}
	ds, next, err := s.cfg.Documents.FindDocuments(auditContext(r), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newListPage(ds, next))
	return nil
}

// handleDocumentContent sends the content as an attachment of its stored
// (sniffed) type, never to be sniffed or rendered by the browser.
func (s *Server) handleDocumentContent(w http.ResponseWriter, r *http.Request) error {
	return s.sendDocument(w, r)
}

// sendDocument sends the content of the document r names (path value
// "id") as the API and the patient portal download it: an attachment of
// its stored, sniffed type, never rendered or sniffed by the browser. The
// document service decides who may read it and audits the view.
func (s *Server) sendDocument(w http.ResponseWriter, r *http.Request) error {
	d, content, err := s.cfg.Documents.FindDocumentContent(auditContext(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", d.ContentType)
	h.Set("Content-Disposition", attachment(d.Filename))
	h.Set("Content-Length", strconv.Itoa(len(content)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(content) // a client gone away is not an error to report
	return nil
}

func (s *Server) handleArchiveDocument(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Documents.ArchiveDocument(auditContext(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// attachment is the Content-Disposition of a download named name: a
// quoted ASCII filename for every client, where any other character
// becomes "_", and the exact name as RFC 8187 filename* when it differs.
func attachment(name string) string {
	fallback := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' {
			return '_'
		}
		return r
	}, name)
	v := mime.FormatMediaType("attachment", map[string]string{"filename": fallback})
	if v == "" {
		return "attachment"
	}
	if fallback != name {
		v += "; filename*=UTF-8''" + attrEncode(name)
	}
	return v
}

// attrEncode percent-encodes every byte of s but RFC 8187's attr-char.
func attrEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := range len(s) {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
