package web

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/eonpro/eonpro"
)

// Rates are the three rate-limit tiers.
type Rates struct {
	// Strict: sign-in, 2FA, password reset and phone codes, per IP.
	Strict eonpro.Rate
	// Standard: the authenticated API, per user or API key.
	Standard eonpro.Rate
	// Relaxed: health and static reads, per IP.
	Relaxed eonpro.Rate
	// FailedAuth: presented credentials (session cookies, tokens, API
	// keys) that failed, per IP. Generous enough for an office whose
	// browsers' sessions all expired overnight; a flood meets 429s.
	FailedAuth eonpro.Rate
}

// DefaultRates are 5 per 15 minutes, 60 per minute, 200 per minute and
// 30 failed authentications per minute.
var DefaultRates = Rates{
	Strict:     eonpro.Rate{Count: 5, Period: 15 * time.Minute},
	Standard:   eonpro.Rate{Count: 60, Period: time.Minute},
	Relaxed:    eonpro.Rate{Count: 200, Period: time.Minute},
	FailedAuth: eonpro.Rate{Count: 30, Period: time.Minute},
}

// clientIP is the peer address. Behind a load balancer the operator must
// make RemoteAddr the client's (e.g. with the PROXY protocol); forwarded
// headers are not trusted, as clients can set them.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limit counts the request against key and sets the RateLimit headers; it
// returns ERATELIMITED when over. A limiter error fails closed.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, key string, rate eonpro.Rate) error {
	if s.cfg.Limiter == nil || rate.Count <= 0 {
		return nil
	}
	d, err := s.cfg.Limiter.Allow(r.Context(), key, rate)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(d.Remaining, 0)))
	h.Set("RateLimit-Reset", strconv.Itoa(seconds(d.ResetAfter)))
	if d.Allowed {
		return nil
	}
	return &eonpro.Error{Code: eonpro.ERATELIMITED, Message: "Too many requests. Try again later.", RetryAfter: d.RetryAfter}
}

// seconds rounds a duration up to whole seconds, at least 1 when positive.
func seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}
