package web

import (
	"net/http"

	"github.com/eonpro/eonpro"
)

// jobPages registers the admin's page of failed background jobs.
func (s *Server) jobPages() {
	s.page("GET /admin/jobs", eonpro.PermClinicManage, s.pageJobs)
	s.page("POST /admin/jobs/{id}/retry", eonpro.PermClinicManage, s.pageRetryJob)
}

// jobsPage is the data of the failed jobs page.
type jobsPage struct {
	Failed, Retrying []*eonpro.Job
}

func (s *Server) pageJobs(w http.ResponseWriter, r *http.Request, v *view) error {
	var d jobsPage
	var err error
	if d.Failed, err = s.jobs().FindJobs(r.Context(), eonpro.JobFailed); err != nil {
		return err
	}
	if d.Retrying, err = s.jobs().FindJobs(r.Context(), eonpro.JobRetrying); err != nil {
		return err
	}
	if r.URL.Query().Get("done") == "retried" {
		v.Flash = "The job will run again shortly."
	}
	v.Title, v.Data = "Background jobs", d
	return s.render(w, r, http.StatusOK, "jobs", v)
}

func (s *Server) pageRetryJob(w http.ResponseWriter, r *http.Request, v *view) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	if err := s.jobs().RetryJob(r.Context(), id); err != nil {
		return err
	}
	s.redirect(w, r, "/admin/jobs?done=retried")
	return nil
}
