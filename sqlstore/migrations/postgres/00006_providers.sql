-- Providers: the professional profile of a clinic member whose role is
-- provider (one per member and clinic, NPI unique in the clinic), and their
-- state licenses. Credentials and specialties are JSON arrays of text.
-- Row-level security keeps each transaction to the clinic InClinic set in
-- app.clinic_id, a second wall behind the clinic_id condition of every
-- statement; FORCE makes it bind the tables' owner too (superusers and
-- BYPASSRLS roles still pass, so the service must not connect as one).

-- +goose Up
CREATE TABLE providers (
    id                     TEXT PRIMARY KEY,
    clinic_id              TEXT NOT NULL REFERENCES clinics (id) ON DELETE CASCADE,
    user_id                TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credentials            TEXT NOT NULL DEFAULT '[]',
    npi                    TEXT NOT NULL,
    dea_number             TEXT NOT NULL DEFAULT '',
    specialties            TEXT NOT NULL DEFAULT '[]',
    bio                    TEXT NOT NULL DEFAULT '',
    accepting_new_patients BOOLEAN NOT NULL DEFAULT TRUE,
    created_at             TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL,
    UNIQUE (clinic_id, id)
);
CREATE UNIQUE INDEX providers_user_idx ON providers (clinic_id, user_id);
CREATE UNIQUE INDEX providers_npi_idx ON providers (clinic_id, npi);

CREATE TABLE provider_licenses (
    id          TEXT PRIMARY KEY,
    clinic_id   TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (length(state) = 2),
    number      TEXT NOT NULL,
    expires_on  DATE NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (clinic_id, provider_id) REFERENCES providers (clinic_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX provider_licenses_number_idx ON provider_licenses (clinic_id, provider_id, state, number);
CREATE INDEX provider_licenses_state_idx ON provider_licenses (clinic_id, state, expires_on);

ALTER TABLE providers ENABLE ROW LEVEL SECURITY;
ALTER TABLE providers FORCE ROW LEVEL SECURITY;
CREATE POLICY providers_clinic ON providers
    USING (clinic_id = current_setting('app.clinic_id', true));

ALTER TABLE provider_licenses ENABLE ROW LEVEL SECURITY;
ALTER TABLE provider_licenses FORCE ROW LEVEL SECURITY;
CREATE POLICY provider_licenses_clinic ON provider_licenses
    USING (clinic_id = current_setting('app.clinic_id', true));

-- +goose Down
DROP TABLE provider_licenses;
DROP TABLE providers;
