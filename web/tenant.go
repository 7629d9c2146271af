package web

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/eonpro/eonpro"
)

// Cookie names. In production the session cookie carries the __Host-
// prefix (Secure, path /, no domain); over plain http in development the
// prefix and the Secure flag are dropped, or browsers would refuse it.
const (
	sessionCookieSecure = "__Host-eonpro_session"
	sessionCookiePlain  = "eonpro_session"
	clinicCookie        = "eonpro_clinic"
)

func (s *Server) sessionCookieName() string {
	if s.cfg.SecureCookies {
		return sessionCookieSecure
	}
	return sessionCookiePlain
}

// credential reads the session cookie and the Authorization header.
func (s *Server) credential(r *http.Request) eonpro.Credential {
	var c eonpro.Credential
	if ck, err := r.Cookie(s.sessionCookieName()); err == nil {
		c.SessionToken = ck.Value
	}
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		c.BearerToken = strings.TrimSpace(tok)
	}
	return c
}

// authorize authenticates the request and checks perm, returning the
// context with the principal (and its clinic and role) in it.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, perm eonpro.Permission) (context.Context, error) {
	ctx := r.Context()
	if perm == eonpro.PermPublic {
		return ctx, nil
	}
	cred := s.credential(r)
	p, err := s.cfg.Auth.Authenticate(ctx, cred)
	if err != nil {
		return nil, s.failedAuth(w, r, err)
	}
	if err := s.limit(w, r, "standard:"+principalKey(p), s.cfg.Rates.Standard); err != nil {
		return nil, err
	}
	var c *eonpro.Clinic
	var m *eonpro.Membership
	switch perm {
	case eonpro.PermSelf, eonpro.PermEnroll:
		c, m, err = s.resolveClinic(ctx, w, r, p, false)
	case eonpro.PermPlatformAdmin:
		if !p.SuperAdmin || p.APIKeyID != "" {
			err = eonpro.Errorf(eonpro.EFORBIDDEN, "Platform administrators only.")
		}
	default:
		c, m, err = s.resolveClinic(ctx, w, r, p, true)
	}
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Auth.Admit(ctx, p, c, m); err != nil {
		return nil, err
	}
	if p.MFAPending && perm != eonpro.PermEnroll {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "Set up two-factor authentication first (POST /api/v1/me/mfa/totp).")
	}
	if c != nil && perm != eonpro.PermSelf && perm != eonpro.PermEnroll && !p.Can(perm) {
		err := s.audit(ctx, r, p, eonpro.ActionAccessDenied, eonpro.OutcomeDenied, map[string]string{"permission": string(perm)})
		return nil, denied(err, "You do not have permission to do that.")
	}
	return eonpro.NewContextWithPrincipal(ctx, p), nil
}

// failedAuth counts a presented credential that failed against the
// client's address, so a flood of made-up keys or tokens meets 429s, not
// an endless stream of 401s; a request with no credential costs nothing.
func (s *Server) failedAuth(w http.ResponseWriter, r *http.Request, err error) error {
	cred := s.credential(r)
	if eonpro.ErrorCode(err) != eonpro.EUNAUTHN || (cred.SessionToken == "" && cred.BearerToken == "") {
		return err
	}
	if lerr := s.limit(w, r, "strict:auth-failed:"+clientIP(r), s.cfg.Rates.FailedAuth); lerr != nil {
		return lerr
	}
	return err
}

func principalKey(p *eonpro.Principal) string {
	if p.APIKeyID != "" {
		return "key:" + p.APIKeyID
	}
	return "user:" + p.UserID
}

// clinicRef finds the clinic a request names: a custom domain, a
// subdomain of the base domain, the X-Clinic header, then the cookie.
func (s *Server) clinicRef(ctx context.Context, r *http.Request) (*eonpro.Clinic, error) {
	if c, err := s.hostClinic(ctx, r); c != nil || err != nil {
		return c, err
	}
	if ref := r.Header.Get("X-Clinic"); ref != "" {
		return s.cfg.Clinics.FindClinicByRef(ctx, ref)
	}
	if ck, err := r.Cookie(clinicCookie); err == nil && ck.Value != "" {
		return s.cfg.Clinics.FindClinicByRef(ctx, ck.Value)
	}
	return nil, nil
}

// hostClinic finds the clinic of the request's host: a custom domain or a
// subdomain of the base domain, both public by their nature (DNS).
func (s *Server) hostClinic(ctx context.Context, r *http.Request) (*eonpro.Clinic, error) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" || host == "localhost" || net.ParseIP(host) != nil {
		return nil, nil
	}
	if c, err := s.cfg.Clinics.FindClinicByDomain(ctx, host); err == nil {
		return c, nil
	} else if eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
		return nil, err
	}
	if base := s.cfg.BaseDomain; base != "" {
		if sub, ok := strings.CutSuffix(host, "."+base); ok && !strings.Contains(sub, ".") {
			return s.cfg.Clinics.FindClinicByRef(ctx, sub)
		}
	}
	return nil, nil
}

// errNoClinic is the answer for a clinic that does not exist and, alike,
// for one the principal is not a member of: another clinic's name, id and
// very existence are not theirs to learn.
var errNoClinic = eonpro.Errorf(eonpro.ENOTFOUND, "Clinic not found.")

// resolveClinic sets the principal's clinic, role and permissions, and
// returns the clinic with the principal's membership there (nil for a
// super admin's entry). An API key is bound to its clinic; a user's clinic
// is the one the request names or, failing that, their only one. A named
// clinic the user is not a member of counts as missing (a super admin may
// enter any, which is logged). With required, a clinic must result, and
// it must be active; a missing one is 404, and those attempts are limited
// per principal in the strict tier (each on an existing clinic is audited
// in its chain).
func (s *Server) resolveClinic(ctx context.Context, w http.ResponseWriter, r *http.Request, p *eonpro.Principal,
	required bool) (*eonpro.Clinic, *eonpro.Membership, error) {
	c, err := s.clinicRef(ctx, r)
	missing := eonpro.ErrorCode(err) == eonpro.ENOTFOUND
	if err != nil && !missing {
		return nil, nil, err
	}
	if p.APIKeyID != "" {
		c, err := s.resolveKeyClinic(ctx, w, r, c, missing, p, required)
		return c, nil, err
	}
	ms, err := s.cfg.Users.FindMemberships(ctx, p.UserID)
	if err != nil {
		return nil, nil, err
	}
	m := membershipIn(ms, c)
	if c != nil && m == nil && !p.SuperAdmin {
		if required {
			return nil, nil, s.crossClinic(ctx, w, r, p, c.ID)
		}
		c, missing = nil, true
	}
	if missing && required {
		return nil, nil, s.missingClinic(w, r, p)
	}
	if c == nil && len(ms) == 1 {
		if c, err = s.cfg.Clinics.FindClinicByRef(ctx, ms[0].ClinicID); err != nil {
			return nil, nil, err
		}
		m = ms[0]
	}
	p.Permissions = nil
	if c == nil {
		if required {
			return nil, nil, eonpro.Errorf(eonpro.EBADREQUEST, "Choose a clinic: send the X-Clinic header with its slug or id.")
		}
		return nil, nil, nil
	}
	p.ClinicID = c.ID
	if m != nil {
		p.Role, p.Permissions = m.Role, eonpro.RolePermissions[m.Role]
	}
	if !required {
		return c, m, nil
	}
	if m == nil {
		p.Role, p.Permissions = eonpro.RoleAdmin, eonpro.RolePermissions[eonpro.RoleAdmin]
		s.log.InfoContext(ctx, "super admin entered clinic", "request_id", eonpro.RequestIDFromContext(ctx),
			"user_id", p.UserID, "clinic_id", c.ID)
		if err := s.audit(ctx, r, p, eonpro.ActionSuperAdminAccess, eonpro.OutcomeSuccess, nil); err != nil {
			return nil, nil, err
		}
	}
	if c.Status != eonpro.ClinicActive {
		err := s.audit(ctx, r, p, eonpro.ActionAccessDenied, eonpro.OutcomeDenied, map[string]string{"reason": "clinic_suspended"})
		return nil, nil, denied(err, "This clinic is suspended.")
	}
	return c, m, nil
}

// membershipIn returns the membership of ms in c, or nil.
func membershipIn(ms []*eonpro.Membership, c *eonpro.Clinic) *eonpro.Membership {
	for _, m := range ms {
		if c != nil && m.ClinicID == c.ID {
			return m
		}
	}
	return nil
}

// missingClinic counts a request for a clinic that is missing or not the
// principal's and answers it: 404, or 429 once the principal has made too
// many (so nobody can grow another clinic's audit chain without bound).
func (s *Server) missingClinic(w http.ResponseWriter, r *http.Request, p *eonpro.Principal) error {
	if err := s.limit(w, r, "strict:clinic-missing:"+principalKey(p), s.cfg.Rates.Strict); err != nil {
		return err
	}
	return errNoClinic
}

// crossClinic answers an attempt on clinic, which exists but is not the
// principal's, exactly as missingClinic answers a clinic that does not
// exist; within the limit the attempt is recorded in clinic's chain (fail
// closed) and logged.
func (s *Server) crossClinic(ctx context.Context, w http.ResponseWriter, r *http.Request, p *eonpro.Principal, clinicID string) error {
	if err := s.missingClinic(w, r, p); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
		return err
	}
	s.log.WarnContext(ctx, "access denied: not a member", "request_id", eonpro.RequestIDFromContext(ctx),
		"user_id", p.UserID, "api_key_id", p.APIKeyID, "clinic_id", clinicID)
	target := *p
	target.ClinicID, target.Role, target.Permissions = clinicID, "", nil
	if err := s.audit(ctx, r, &target, eonpro.ActionCrossClinic, eonpro.OutcomeDenied, nil); err != nil {
		return err
	}
	return errNoClinic
}

// audit records an access decision in the chain of the principal's
// clinic. A failure to record refuses the request (fail closed).
func (s *Server) audit(ctx context.Context, r *http.Request, p *eonpro.Principal, action eonpro.AuditAction,
	outcome string, detail map[string]string) error {
	if s.cfg.Audit == nil {
		return nil
	}
	if detail == nil {
		detail = map[string]string{}
	}
	detail["route"] = r.Pattern
	ev := eonpro.AuditEvent{ClinicID: p.ClinicID, Action: action, Outcome: outcome, ResourceType: "clinic",
		ResourceID: p.ClinicID, Detail: detail}
	return s.cfg.Audit.Record(eonpro.NewContextWithPrincipal(ctx, p), ev)
}

// resolveKeyClinic binds an API key to its clinic: a request naming
// another clinic, or one that does not exist, is answered as missing when
// a clinic is required (and as naming none otherwise). It narrows the key's
// permissions to its creator's current role.
func (s *Server) resolveKeyClinic(ctx context.Context, w http.ResponseWriter, r *http.Request, named *eonpro.Clinic, missing bool,
	p *eonpro.Principal, required bool) (*eonpro.Clinic, error) {
	if named != nil && named.ID != p.ClinicID && required {
		return nil, s.crossClinic(ctx, w, r, p, named.ID)
	}
	if missing && required {
		return nil, s.missingClinic(w, r, p)
	}
	c, err := s.cfg.Clinics.FindClinicByRef(ctx, p.ClinicID)
	if err != nil {
		return nil, err
	}
	ms, err := s.cfg.Users.FindMemberships(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	var role eonpro.Role
	if m := membershipIn(ms, c); m != nil {
		role = m.Role
	}
	var kept []eonpro.Permission
	for _, perm := range p.Permissions {
		if role.Has(perm) {
			kept = append(kept, perm)
		}
	}
	p.Permissions, p.Role = kept, role
	if required && c.Status != eonpro.ClinicActive {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "This clinic is suspended.")
	}
	return c, nil
}

// denied is the 403 for a denied access, unless recording the denial
// failed, which then answers instead.
func denied(auditErr error, message string) error {
	if auditErr != nil {
		return auditErr
	}
	return eonpro.Errorf(eonpro.EFORBIDDEN, "%s", message)
}
