package sqlstore

import (
	"net/url"
	"strings"
)

// Links builds the web app's addresses that messages carry: an invitation
// links to the set-password page, a password reset to the reset page, each
// with its one-time code in the query (the access log drops queries, and
// pages send no Referer).
type Links struct {
	// PublicURL is where the web app is reached, scheme and host (e.g.
	// https://app.eonpro.example). Empty, with no BaseDomain, means the
	// messages carry only the codes.
	PublicURL string
	// BaseDomain, when set, gives each clinic its own host,
	// SLUG.BaseDomain, with PublicURL's scheme (https when none).
	BaseDomain string
}

// page returns the address of path with the query q at the clinic slug
// ("" for no clinic in particular), or "" when no address is known.
func (l Links) page(slug, path string, q url.Values) string {
	base := strings.TrimRight(l.PublicURL, "/")
	if l.BaseDomain != "" && slug != "" {
		scheme := "https"
		if strings.HasPrefix(l.PublicURL, "http://") {
			scheme = "http"
		}
		base = scheme + "://" + slug + "." + l.BaseDomain
	}
	if base == "" {
		return ""
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return base + path
}
