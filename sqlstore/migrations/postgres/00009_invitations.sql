-- Invitations: a clinic asks a person to join; no membership exists until
-- the person accepts (signed in as the invited address, or by setting a
-- password from the e-mailed code when the address has no account), so a
-- clinic can neither add another clinic's user nor learn that an account
-- exists. A membership's sessions_not_before ends, in that clinic only,
-- the sessions that began before it (a role change).

-- +goose Up
CREATE TABLE invitations (
    id               TEXT PRIMARY KEY,
    clinic_id        TEXT NOT NULL REFERENCES clinics (id) ON DELETE CASCADE,
    email_normalized TEXT NOT NULL,
    email            TEXT NOT NULL,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('admin', 'provider', 'staff', 'billing', 'patient', 'affiliate')),
    invited_by       TEXT REFERENCES users (id) ON DELETE SET NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'revoked')),
    token_hash       BYTEA NOT NULL UNIQUE,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    answered_at      TIMESTAMPTZ
);
CREATE UNIQUE INDEX invitations_pending_idx ON invitations (clinic_id, email_normalized) WHERE status = 'pending';
CREATE INDEX invitations_email_idx ON invitations (email_normalized, status);

ALTER TABLE memberships ADD COLUMN sessions_not_before TIMESTAMPTZ;

-- +goose Down
ALTER TABLE memberships DROP COLUMN sessions_not_before;
DROP TABLE invitations;
