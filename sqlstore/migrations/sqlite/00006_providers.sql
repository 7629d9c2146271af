-- Providers: the professional profile of a clinic member whose role is
-- provider (one per member and clinic, NPI unique in the clinic), and their
-- state licenses. Credentials and specialties are JSON arrays of text;
-- expires_on is a YYYY-MM-DD date, so that text order is date order.

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
    accepting_new_patients INTEGER NOT NULL DEFAULT 1,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL,
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
    expires_on  TEXT NOT NULL CHECK (expires_on GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    FOREIGN KEY (clinic_id, provider_id) REFERENCES providers (clinic_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX provider_licenses_number_idx ON provider_licenses (clinic_id, provider_id, state, number);
CREATE INDEX provider_licenses_state_idx ON provider_licenses (clinic_id, state, expires_on);

-- +goose Down
DROP TABLE provider_licenses;
DROP TABLE providers;
