-- +goose Up
-- A failure now counts against one account from one address
-- (subject_hash); account_hash names the account alone, so that an unlock
-- clears every address at once.
ALTER TABLE login_failures ADD COLUMN account_hash TEXT;
CREATE INDEX login_failures_account_idx ON login_failures (account_hash);

-- account_locks remembers when an account's lockout was last reported, so
-- that its admins are alerted once per lockout window, not per address.
CREATE TABLE account_locks (
    account_hash TEXT PRIMARY KEY,
    locked_at    TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE account_locks;
DROP INDEX login_failures_account_idx;
ALTER TABLE login_failures DROP COLUMN account_hash;
