package sqlstore

import (
	"net/url"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
)

func TestLinks(t *testing.T) {
	q := url.Values{"token": {"a b&c"}}
	tests := []struct {
		name  string
		links Links
		slug  string
		want  string
	}{
		{"None", Links{}, "alpha", ""},
		{"PublicURL", Links{PublicURL: "https://app.example.com/"}, "alpha", "https://app.example.com/set-password?token=a+b%26c"},
		{"BaseDomain", Links{PublicURL: "https://app.example.com", BaseDomain: "eonpro.app"}, "alpha", "https://alpha.eonpro.app/set-password?token=a+b%26c"},
		{"BaseDomainHTTP", Links{PublicURL: "http://localhost:8080", BaseDomain: "eonpro.test"}, "alpha", "http://alpha.eonpro.test/set-password?token=a+b%26c"},
		{"BaseDomainNoClinic", Links{PublicURL: "https://app.example.com", BaseDomain: "eonpro.app"}, "", "https://app.example.com/set-password?token=a+b%26c"},
		{"BaseDomainOnly", Links{BaseDomain: "eonpro.app"}, "alpha", "https://alpha.eonpro.app/set-password?token=a+b%26c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.links.page(tt.slug, "/set-password", q); got != tt.want {
				t.Errorf("page = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("Messages", func(t *testing.T) {
		m := &eonpro.Invitation{ClinicSlug: "alpha", ClinicName: "Alpha", Role: eonpro.RoleStaff, Email: "x@alpha.test"}
		l := Links{PublicURL: "https://app.example.com"}
		if got := invitationMessage(m, "tok", false, l).Body; !strings.Contains(got, "within 7 days: tok\nOr open: https://app.example.com/set-password?token=tok") {
			t.Errorf("invitation: %q", got)
		}
		if got := invitationMessage(m, "tok", false, Links{}).Body; strings.Contains(got, "http") {
			t.Errorf("invitation without links: %q", got)
		}
		if got := invitationMessage(m, "tok", true, l).Body; !strings.HasSuffix(got, "valid for 7 days.\nhttps://app.example.com/invitations") || strings.Contains(got, "tok") {
			t.Errorf("existing account: %q", got)
		}
		if got := resetLink(l, "tok"); got != "\nOr open: https://app.example.com/reset?token=tok" {
			t.Errorf("reset: %q", got)
		}
	})
}
