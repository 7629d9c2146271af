-- Patient documents and consents, each tied to a patient of its own
-- clinic by the foreign key on (clinic_id, patient_id). A document's
-- content is in the blob store, encrypted under the clinic's key, at the
-- random storage_key; its filename and sha256 (of the plaintext) hold PHI
-- ciphertext here, as does a consent's signed_name (its ip and user_agent
-- are the request's, as in the consent's audit event). Consents are
-- evidence: triggers refuse DELETE and any UPDATE but the re-encryption of
-- signed_name after a key rotation.

-- +goose Up
CREATE TABLE patient_documents (
    id           TEXT PRIMARY KEY,
    clinic_id    TEXT NOT NULL REFERENCES clinics (id),
    patient_id   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('id_card', 'insurance_card', 'lab_result', 'consent', 'other')),
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL CHECK (size > 0),
    storage_key  TEXT NOT NULL UNIQUE,
    sha256       TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    uploaded_by  TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    archived_at  TIMESTAMP,
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
    signed_at   TIMESTAMP NOT NULL,
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL,
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id)
);
CREATE INDEX consents_patient_idx ON consents (clinic_id, patient_id, id);

-- +goose StatementBegin
CREATE TRIGGER consents_evidence_update BEFORE UPDATE ON consents
WHEN NEW.id IS NOT OLD.id OR NEW.clinic_id IS NOT OLD.clinic_id OR NEW.patient_id IS NOT OLD.patient_id
    OR NEW.kind IS NOT OLD.kind OR NEW.version IS NOT OLD.version OR NEW.signed_at IS NOT OLD.signed_at
    OR NEW.ip IS NOT OLD.ip OR NEW.user_agent IS NOT OLD.user_agent OR NEW.recorded_by IS NOT OLD.recorded_by
BEGIN
    SELECT RAISE(ABORT, 'consents are evidence: UPDATE refused');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER consents_evidence_delete BEFORE DELETE ON consents
BEGIN
    SELECT RAISE(ABORT, 'consents are evidence: DELETE refused');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE consents;
DROP TABLE patient_documents;
