-- The alert windows of critical audit events: one row per chain
-- (clinic_id, '' for the platform's) and kind (an audit action, or
-- audit.verify_failed). The first event of a quiet kind opens a window and
-- alerts the admins at once; the events that follow within the window only
-- count here (pending), naming their first distinct actors, until the
-- flush job sends one summary when the window ends, which opens the next
-- one. So a flood sends one message per window, however many replicas
-- record it: the row is booked in the transaction of the event. Rows hold
-- ids and counts, never PHI. Like audit_heads they are platform
-- bookkeeping the flush job reads across clinics, so they have no
-- row-level security.

-- +goose Up
CREATE TABLE audit_alert_windows (
    clinic_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    opened_at    TIMESTAMPTZ NOT NULL,
    pending      BIGINT NOT NULL DEFAULT 0 CHECK (pending >= 0),
    actors       TEXT NOT NULL DEFAULT '[]',
    other_events BIGINT NOT NULL DEFAULT 0 CHECK (other_events >= 0),
    PRIMARY KEY (clinic_id, kind)
);
CREATE INDEX audit_alert_windows_due_idx ON audit_alert_windows (opened_at) WHERE pending > 0;

-- +goose Down
DROP TABLE audit_alert_windows;
