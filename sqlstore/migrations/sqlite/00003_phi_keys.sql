-- PHI data keys: per clinic, an encryption key and a blind-index key, in
-- versions, each wrapped by the master key (local or AWS KMS). Destroying
-- a clinic's keys (crypto-shredding) clears wrapped_key and sets
-- destroyed_at; the rows stay, so no new keys are made for that clinic.

-- +goose Up
CREATE TABLE phi_keys (
    clinic_id     TEXT NOT NULL REFERENCES clinics (id) ON DELETE CASCADE,
    purpose       TEXT NOT NULL CHECK (purpose IN ('enc', 'idx')),
    version       INTEGER NOT NULL CHECK (version > 0),
    wrapped_key   BLOB,
    master_key_id TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    destroyed_at  TIMESTAMP,
    PRIMARY KEY (clinic_id, purpose, version),
    CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL))
);

-- +goose Down
DROP TABLE phi_keys;
