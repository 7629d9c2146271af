-- Patient documents and consents, each tied to a patient of its own
-- clinic by the foreign key on (clinic_id, patient_id). A document's
-- content is in the blob store, encrypted under the clinic's key, at the
-- random storage_key; its filename and sha256 (of the plaintext) hold PHI
-- ciphertext here, as does a consent's signed_name (its ip and user_agent
-- are the request's, as in the consent's audit event). Consents are
-- evidence: triggers refuse DELETE and any UPDATE but the re-encryption of
-- signed_name after a key rotation.
-- Row-level security keeps each transaction to the clinic InClinic set in
-- app.clinic_id, a second wall behind the clinic_id condition of every
-- statement; FORCE makes it bind the tables' owner too (superusers and
-- BYPASSRLS roles still pass, so the service must not connect as one).

-- +goose Up
CREATE TABLE patient_documents (
    id           TEXT PRIMARY KEY,
    clinic_id    TEXT NOT NULL REFERENCES clinics (id),
    patient_id   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('id_card', 'insurance_card', 'lab_result', 'consent', 'other')),
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL CHECK (size > 0),
    storage_key  TEXT NOT NULL UNIQUE,
    sha256       TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    uploaded_by  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    archived_at  TIMESTAMPTZ,
    CHECK ((status = 'archived') = (archived_at IS NOT NULL)),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id)
);
CREATE INDEX patient_documents_patient_idx ON patient_documents (clinic_id, patient_id, status, id);

CREATE TABLE consents (
    id          TEXT PRIMARY KEY,
    clinic_id   TEXT NOT NULL REFERENCES clinics (id),
    patient_id  TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('telehealth', 'treatment', 'privacy_notice', 'sms')),
    version     TEXT NOT NULL,
    signed_name TEXT NOT NULL,
    signed_at   TIMESTAMPTZ NOT NULL,
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL,
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id)
);
CREATE INDEX consents_patient_idx ON consents (clinic_id, patient_id, id);

-- +goose StatementBegin
CREATE FUNCTION consents_evidence() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND (NEW.id, NEW.clinic_id, NEW.patient_id, NEW.kind, NEW.version, NEW.signed_at, NEW.ip, NEW.user_agent, NEW.recorded_by)
        IS NOT DISTINCT FROM
            (OLD.id, OLD.clinic_id, OLD.patient_id, OLD.kind, OLD.version, OLD.signed_at, OLD.ip, OLD.user_agent, OLD.recorded_by) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'consents are evidence: % refused', TG_OP;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER consents_evidence BEFORE UPDATE OR DELETE ON consents
    FOR EACH ROW EXECUTE FUNCTION consents_evidence();
CREATE TRIGGER consents_no_truncate BEFORE TRUNCATE ON consents
    FOR EACH STATEMENT EXECUTE FUNCTION consents_evidence();

ALTER TABLE patient_documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_documents FORCE ROW LEVEL SECURITY;
CREATE POLICY patient_documents_clinic ON patient_documents
    USING (clinic_id = current_setting('app.clinic_id', true));

ALTER TABLE consents ENABLE ROW LEVEL SECURITY;
ALTER TABLE consents FORCE ROW LEVEL SECURITY;
CREATE POLICY consents_clinic ON consents
    USING (clinic_id = current_setting('app.clinic_id', true));

-- +goose Down
DROP TABLE consents;
DROP TABLE patient_documents;
DROP FUNCTION consents_evidence();
