package web

import (
	"context"
	"net/http"

	"github.com/eonpro/eonpro"
)

// outboxLimit is how many kept messages the outbox page shows.
const outboxLimit = 50

// outboxPages registers the development outbox: the messages the
// development sender kept for the clinic's people, so a newcomer running
// serve --demo reads invitations and codes without a mail server.
func (s *Server) outboxPages() {
	s.page("GET /admin/outbox", eonpro.PermMembersManage, s.pageOutbox)
}

// outboxPage is the data of the development outbox page.
type outboxPage struct {
	Messages []*eonpro.OutboxMessage
}

func (s *Server) pageOutbox(w http.ResponseWriter, r *http.Request, v *view) error {
	if s.cfg.Outbox == nil {
		return eonpro.Errorf(eonpro.ENOTFOUND, "Not found.")
	}
	ms, err := s.cfg.Outbox(r.Context(), v.Principal.ClinicID, outboxLimit)
	if err != nil {
		return err
	}
	v.Title, v.Data = "Outbox (development)", outboxPage{Messages: ms}
	return s.render(w, r, http.StatusOK, "outbox", v)
}

// OutboxFunc lists the newest messages the development sender kept for a
// clinic's people.
type OutboxFunc func(ctx context.Context, clinicID string, limit int) ([]*eonpro.OutboxMessage, error)
