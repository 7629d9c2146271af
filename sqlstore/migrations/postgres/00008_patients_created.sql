-- The dashboard counts a clinic's new patients per day: an index on
-- (clinic_id, created_at) keeps that a range read at any clinic size.

-- +goose Up
CREATE INDEX patients_created_idx ON patients (clinic_id, created_at);

-- +goose Down
DROP INDEX patients_created_idx;
