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
	cred := s.credential(r)
	if perm == eonpro.PermPublic {
		return ctx, nil
	}
	p, err := s.cfg.Auth.Authenticate(ctx, cred)
	if err != nil {
		return nil, err
	}
	if err := s.limit(w, r, "standard:"+principalKey(p), s.cfg.Rates.Standard); err != nil {
		return nil, err
	}
	if p.MFAPending && perm != eonpro.PermEnroll {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "Set up two-factor authentication first (POST /api/v1/me/mfa/totp).")
	}
	switch perm {
	case eonpro.PermSelf, eonpro.PermEnroll:
		if err := s.resolveClinic(ctx, r, p, false); err != nil {
			return nil, err
		}
	case eonpro.PermPlatformAdmin:
		if !p.SuperAdmin || p.APIKeyID != "" {
			return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "Platform administrators only.")
		}
	default:
		if err := s.resolveClinic(ctx, r, p, true); err != nil {
			return nil, err
		}
		if !p.Can(perm) {
			err := s.audit(ctx, r, p, eonpro.ActionAccessDenied, eonpro.OutcomeDenied, map[string]string{"permission": string(perm)})
			return nil, denied(err, "You do not have permission to do that.")
		}
	}
	return eonpro.NewContextWithPrincipal(ctx, p), nil
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
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
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
	}
	if ref := r.Header.Get("X-Clinic"); ref != "" {
		return s.cfg.Clinics.FindClinicByRef(ctx, ref)
	}
	if ck, err := r.Cookie(clinicCookie); err == nil && ck.Value != "" {
		return s.cfg.Clinics.FindClinicByRef(ctx, ck.Value)
	}
	return nil, nil
}

// resolveClinic sets the principal's clinic, role and permissions. An API
// key is bound to its clinic; a user's clinic is the one the request names
// or, failing that, their only one. With required, a clinic must result
// and the principal must be a member (super admins may enter any, which is
// logged), and it must be active.
func (s *Server) resolveClinic(ctx context.Context, r *http.Request, p *eonpro.Principal, required bool) error {
	c, err := s.clinicRef(ctx, r)
	if !required && eonpro.ErrorCode(err) == eonpro.ENOTFOUND {
		// A stale clinic cookie must not lock anyone out of their account.
		c, err = nil, nil
	}
	if err != nil {
		return err
	}
	if p.APIKeyID != "" {
		return s.resolveKeyClinic(ctx, r, c, p, required)
	}
	ms, err := s.cfg.Users.FindMemberships(ctx, p.UserID)
	if err != nil {
		return err
	}
	if c == nil && len(ms) == 1 {
		if c, err = s.cfg.Clinics.FindClinicByRef(ctx, ms[0].ClinicID); err != nil {
			return err
		}
	}
	p.Permissions = nil
	if c == nil {
		if required {
			return eonpro.Errorf(eonpro.EBADREQUEST, "Choose a clinic: send the X-Clinic header with its slug or id.")
		}
		return nil
	}
	p.ClinicID = c.ID
	for _, m := range ms {
		if m.ClinicID == c.ID {
			p.Role = m.Role
			p.Permissions = eonpro.RolePermissions[m.Role]
		}
	}
	if !required {
		return nil
	}
	if p.Role == "" {
		if !p.SuperAdmin {
			s.log.WarnContext(ctx, "access denied: not a member", "request_id", eonpro.RequestIDFromContext(ctx),
				"user_id", p.UserID, "clinic_id", c.ID)
			err := s.audit(ctx, r, p, eonpro.ActionCrossClinic, eonpro.OutcomeDenied, nil)
			return denied(err, "You are not a member of this clinic.")
		}
		p.Role = eonpro.RoleAdmin
		p.Permissions = eonpro.RolePermissions[eonpro.RoleAdmin]
		s.log.InfoContext(ctx, "super admin entered clinic", "request_id", eonpro.RequestIDFromContext(ctx),
			"user_id", p.UserID, "clinic_id", c.ID)
		if err := s.audit(ctx, r, p, eonpro.ActionSuperAdminAccess, eonpro.OutcomeSuccess, nil); err != nil {
			return err
		}
	}
	if c.Status != eonpro.ClinicActive {
		err := s.audit(ctx, r, p, eonpro.ActionAccessDenied, eonpro.OutcomeDenied, map[string]string{"reason": "clinic_suspended"})
		return denied(err, "This clinic is suspended.")
	}
	return nil
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

// resolveKeyClinic checks an API key's clinic against the one the request
// names and narrows the key's permissions to its creator's current role.
func (s *Server) resolveKeyClinic(ctx context.Context, r *http.Request, named *eonpro.Clinic, p *eonpro.Principal, required bool) error {
	if named != nil && named.ID != p.ClinicID {
		target := *p
		target.ClinicID = named.ID
		err := s.audit(ctx, r, &target, eonpro.ActionCrossClinic, eonpro.OutcomeDenied, nil)
		return denied(err, "This API key belongs to another clinic.")
	}
	c, err := s.cfg.Clinics.FindClinicByRef(ctx, p.ClinicID)
	if err != nil {
		return err
	}
	ms, err := s.cfg.Users.FindMemberships(ctx, p.UserID)
	if err != nil {
		return err
	}
	var role eonpro.Role
	for _, m := range ms {
		if m.ClinicID == c.ID {
			role = m.Role
		}
	}
	var kept []eonpro.Permission
	for _, perm := range p.Permissions {
		if role.Has(perm) {
			kept = append(kept, perm)
		}
	}
	p.Permissions, p.Role = kept, role
	if required && c.Status != eonpro.ClinicActive {
		return eonpro.Errorf(eonpro.EFORBIDDEN, "This clinic is suspended.")
	}
	return nil
}

// denied is the 403 for a denied access, unless recording the denial
// failed, which then answers instead.
func denied(auditErr error, message string) error {
	if auditErr != nil {
		return auditErr
	}
	return eonpro.Errorf(eonpro.EFORBIDDEN, "%s", message)
}
