-- The audit trail: append-only events, hash-chained per clinic (clinic_id
-- NULL is the platform chain, keyed '' in audit_heads), and the head of
-- each chain, which writers lock (SELECT ... FOR UPDATE) so that
-- concurrent writers never fork it. Triggers refuse UPDATE, DELETE and
-- TRUNCATE of events, and any change to a head but one step forward.

-- +goose Up
CREATE TABLE audit_events (
    id            TEXT PRIMARY KEY,
    clinic_id     TEXT REFERENCES clinics (id),
    seq           BIGINT NOT NULL CHECK (seq > 0),
    occurred_at   TIMESTAMPTZ NOT NULL,
    actor_type    TEXT NOT NULL CHECK (actor_type IN ('user', 'api_key', 'system')),
    actor_id      TEXT NOT NULL DEFAULT '',
    actor_role    TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL DEFAULT '',
    resource_id   TEXT NOT NULL DEFAULT '',
    patient_id    TEXT NOT NULL DEFAULT '',
    outcome       TEXT NOT NULL CHECK (outcome IN ('success', 'denied', 'error')),
    ip            TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT '',
    request_id    TEXT NOT NULL DEFAULT '',
    session_id    TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT '{}',
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
CREATE UNIQUE INDEX audit_events_chain_idx ON audit_events ((COALESCE(clinic_id, '')), seq);
CREATE INDEX audit_events_actor_idx ON audit_events (clinic_id, actor_id, seq);
CREATE INDEX audit_events_patient_idx ON audit_events (clinic_id, patient_id, seq) WHERE patient_id <> '';
CREATE INDEX audit_events_time_idx ON audit_events (clinic_id, occurred_at);

CREATE TABLE audit_heads (
    clinic_id TEXT PRIMARY KEY,
    seq       BIGINT NOT NULL,
    hash      TEXT NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- +goose StatementBegin
CREATE FUNCTION audit_heads_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.clinic_id = OLD.clinic_id AND NEW.seq = OLD.seq + 1 THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_heads only moves one step forward: % refused', TG_OP;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_heads_forward_only BEFORE UPDATE OR DELETE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION audit_heads_forward_only();
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
    FOR EACH STATEMENT EXECUTE FUNCTION audit_heads_forward_only();

-- +goose Down
DROP TABLE audit_heads;
DROP TABLE audit_events;
DROP FUNCTION audit_heads_forward_only();
DROP FUNCTION audit_events_append_only();
