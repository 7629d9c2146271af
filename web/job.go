package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/eonpro/eonpro"
)

func (s *Server) jobRoutes() {
	s.route("GET /api/v1/jobs", eonpro.PermClinicManage, s.handleListJobs)
	s.route("POST /api/v1/jobs/{id}/retry", eonpro.PermClinicManage, s.handleRetryJob)
}

// handleListJobs lists the clinic's jobs by ?state= (failed by default).
func (s *Server) handleListJobs(w http.ResponseWriter, r *http.Request) error {
	js, err := s.jobs().FindJobs(r.Context(), jobState(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": js})
	return nil
}

func (s *Server) handleRetryJob(w http.ResponseWriter, r *http.Request) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	if err := s.jobs().RetryJob(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// jobState is the ?state= of a job list, failed when absent.
func jobState(r *http.Request) string {
	if st := r.URL.Query().Get("state"); st != "" {
		return st
	}
	return eonpro.JobFailed
}

// jobID parses a job id from the path; anything else is a missing job.
func jobID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, eonpro.Errorf(eonpro.ENOTFOUND, "Job not found.")
	}
	return id, nil
}

// jobs is the job service, or one that has none when no queue runs here.
func (s *Server) jobs() eonpro.JobService {
	if s.cfg.Jobs != nil {
		return s.cfg.Jobs
	}
	return noJobs{}
}

// noJobs answers for a server without a job queue (tests of other parts).
type noJobs struct{}

func (noJobs) FindJobs(ctx context.Context, state string) ([]*eonpro.Job, error) {
	if !eonpro.PrincipalFromContext(ctx).Can(eonpro.PermClinicManage) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not see the clinic's jobs.")
	}
	if state != eonpro.JobFailed && state != eonpro.JobRetrying {
		return nil, eonpro.FieldError("state", "must be failed or retrying")
	}
	return []*eonpro.Job{}, nil
}

func (noJobs) RetryJob(context.Context, int64) error {
	return eonpro.Errorf(eonpro.ENOTFOUND, "Job not found.")
}
