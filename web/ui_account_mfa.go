package web

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image/png"
	"net/http"

	"github.com/pquerna/otp"

	"github.com/eonpro/eonpro"
)

// mfaPage is the data of the 2FA page: enrolment (QR code, secret, code
// form), the backup codes once confirmed, or the switch to turn it off.
type mfaPage struct {
	Enrolled bool
	// Required is whether the clinic requires 2FA of the role (then it
	// cannot be turned off).
	Required   bool
	Secret     string
	OTPAuthURL string
	QR         template.URL
	// BackupCodes are shown once, right after enrolment.
	BackupCodes []string
	Fields      map[string]string
}

// pageAccountMFA starts enrolment (a new secret each time the page is
// opened; the last one shown is the one to confirm), or shows 2FA as on.
// A session limited to enrolling can open it.
func (s *Server) pageAccountMFA(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title = "Two-factor authentication"
	d := mfaPage{Enrolled: v.User.MFAEnrolled && !v.Principal.MFAPending, Required: mfaRequired(v) || v.Principal.MFAPending}
	if d.Enrolled {
		v.Data = d
		return s.render(w, r, http.StatusOK, "account-mfa", v)
	}
	secret, url, err := s.cfg.Auth.EnrollTOTP(r.Context())
	if err != nil {
		return err
	}
	return s.renderEnrol(w, r, v, http.StatusOK, d, secret, url)
}

// renderEnrol shows the enrolment form for secret with its QR code.
func (s *Server) renderEnrol(w http.ResponseWriter, r *http.Request, v *view, status int, d mfaPage, secret, url string) error {
	qr, err := qrDataURL(url)
	if err != nil {
		return err
	}
	d.Secret, d.OTPAuthURL, d.QR = secret, url, qr
	v.Data = d
	return s.render(w, r, status, "account-mfa", v)
}

// qrDataURL renders an otpauth URL as a QR code PNG in a data: URL (the
// page CSP allows data: images).
func qrDataURL(otpauthURL string) (template.URL, error) {
	key, err := otp.NewKeyFromURL(otpauthURL)
	if err != nil {
		return "", err
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	// A PNG the server made, never input: safe as a URL.
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

// pageConfirmMFA checks the first code and shows the backup codes, once.
// A wrong code shows the same secret again (from the form: it is the
// person's own, and the service checks against the one it stored).
func (s *Server) pageConfirmMFA(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title = "Two-factor authentication"
	d := mfaPage{Required: mfaRequired(v) || v.Principal.MFAPending}
	secret, url := r.PostFormValue("secret"), r.PostFormValue("otpauth_url")
	code := formCode(r)
	if code == "" {
		d.Fields = map[string]string{"code": "is required"}
		return s.renderEnrol(w, r, v, http.StatusUnprocessableEntity, d, secret, url)
	}
	codes, err := s.cfg.Auth.ConfirmTOTP(r.Context(), code)
	if f := eonpro.ErrorFields(err); eonpro.ErrorCode(err) == eonpro.EINVALID && f != nil {
		d.Fields = f
		return s.renderEnrol(w, r, v, http.StatusUnprocessableEntity, d, secret, url)
	} else if err != nil {
		return err
	}
	d.Enrolled, d.BackupCodes = true, codes
	v.Data = d
	return s.render(w, r, http.StatusOK, "account-mfa", v)
}

// pageDisableMFA turns 2FA off with the password and a code, unless the
// clinic requires it of the role.
func (s *Server) pageDisableMFA(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title = "Two-factor authentication"
	if mfaRequired(v) {
		return eonpro.Errorf(eonpro.EFORBIDDEN, "Your clinic requires two-factor authentication for your role.")
	}
	d := mfaPage{Enrolled: true}
	pw := r.PostFormValue("password")
	code := formCode(r)
	d.Fields = map[string]string{}
	if pw == "" {
		d.Fields["password"] = "is required"
	}
	if code == "" {
		d.Fields["code"] = "is required"
	}
	if len(d.Fields) == 0 {
		err := s.cfg.Auth.DisableMFA(r.Context(), pw, code)
		if eonpro.ErrorCode(err) != eonpro.EINVALID || eonpro.ErrorFields(err) == nil {
			if err != nil {
				return err
			}
			s.redirect(w, r, "/account")
			return nil
		}
		d.Fields = eonpro.ErrorFields(err)
	}
	v.Data = d
	return s.render(w, r, http.StatusUnprocessableEntity, "account-mfa", v)
}
