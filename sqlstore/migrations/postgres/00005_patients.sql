-- Patients. Every PHI column holds ciphertext (v1:<key version>:<base64>,
-- bound to the clinic, table, column and row; '' when absent). Exact
-- search goes through blind-index columns (HMAC under the clinic's index
-- key); name search as the user types through patient_name_prefixes, the
-- blind indexes of the first 1 to 4 letters of each word of the names;
-- tag search through patient_tags. docs/security.md says what they leak.
-- MRNs come from one counter row per clinic. Every table leads its
-- indexes with clinic_id, and row-level security stands behind the
-- clinic_id condition of every statement: a transaction sees and writes
-- only rows of the clinic InClinic set in app.clinic_id (FORCE applies it
-- to the tables' owner too; superusers and BYPASSRLS roles are exempt).

-- +goose Up
CREATE TABLE patients (
    id                TEXT PRIMARY KEY,
    clinic_id         TEXT NOT NULL REFERENCES clinics (id) ON DELETE CASCADE,
    mrn               TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    user_id           TEXT REFERENCES users (id),
    given_name        TEXT NOT NULL DEFAULT '',
    family_name       TEXT NOT NULL DEFAULT '',
    preferred_name    TEXT NOT NULL DEFAULT '',
    date_of_birth     TEXT NOT NULL DEFAULT '',
    sex_at_birth      TEXT NOT NULL DEFAULT '',
    gender_identity   TEXT NOT NULL DEFAULT '',
    email             TEXT NOT NULL DEFAULT '',
    phone             TEXT NOT NULL DEFAULT '',
    address           TEXT NOT NULL DEFAULT '',
    external_ids      TEXT NOT NULL DEFAULT '',
    emergency_contact TEXT NOT NULL DEFAULT '',
    allergies         TEXT NOT NULL DEFAULT '',
    medications       TEXT NOT NULL DEFAULT '',
    tags              TEXT NOT NULL DEFAULT '',
    intake            TEXT NOT NULL DEFAULT '',
    email_index       TEXT NOT NULL DEFAULT '',
    phone_index       TEXT NOT NULL DEFAULT '',
    dob_index         TEXT NOT NULL DEFAULT '',
    family_name_index TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (clinic_id, id),
    UNIQUE (clinic_id, mrn),
    UNIQUE (clinic_id, user_id)
);
-- Each search leads with its most selective condition; status and id
-- follow, so a page comes off the index in order, without a sort.
CREATE INDEX patients_status_idx ON patients (clinic_id, status, id);
CREATE INDEX patients_email_idx ON patients (clinic_id, email_index, status, id);
CREATE INDEX patients_phone_idx ON patients (clinic_id, phone_index, status, id);
CREATE INDEX patients_dob_idx ON patients (clinic_id, dob_index, status, id);
CREATE INDEX patients_family_name_idx ON patients (clinic_id, family_name_index, status, id);

CREATE TABLE patient_name_prefixes (
    clinic_id    TEXT NOT NULL,
    prefix_index TEXT NOT NULL,
    patient_id   TEXT NOT NULL,
    PRIMARY KEY (clinic_id, prefix_index, patient_id),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id) ON DELETE CASCADE
);
CREATE INDEX patient_name_prefixes_patient_idx ON patient_name_prefixes (clinic_id, patient_id);

CREATE TABLE patient_tags (
    clinic_id  TEXT NOT NULL,
    tag_index  TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    PRIMARY KEY (clinic_id, tag_index, patient_id),
    FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id) ON DELETE CASCADE
);
CREATE INDEX patient_tags_patient_idx ON patient_tags (clinic_id, patient_id);

CREATE TABLE patient_mrn_counters (
    clinic_id TEXT PRIMARY KEY REFERENCES clinics (id) ON DELETE CASCADE,
    last_mrn  BIGINT NOT NULL CHECK (last_mrn > 0)
);

ALTER TABLE patients ENABLE ROW LEVEL SECURITY;
ALTER TABLE patients FORCE ROW LEVEL SECURITY;
CREATE POLICY patients_clinic ON patients
    USING (clinic_id = current_setting('app.clinic_id', true))
    WITH CHECK (clinic_id = current_setting('app.clinic_id', true));

ALTER TABLE patient_name_prefixes ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_name_prefixes FORCE ROW LEVEL SECURITY;
CREATE POLICY patient_name_prefixes_clinic ON patient_name_prefixes
    USING (clinic_id = current_setting('app.clinic_id', true))
    WITH CHECK (clinic_id = current_setting('app.clinic_id', true));

ALTER TABLE patient_tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_tags FORCE ROW LEVEL SECURITY;
CREATE POLICY patient_tags_clinic ON patient_tags
    USING (clinic_id = current_setting('app.clinic_id', true))
    WITH CHECK (clinic_id = current_setting('app.clinic_id', true));

ALTER TABLE patient_mrn_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE patient_mrn_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY patient_mrn_counters_clinic ON patient_mrn_counters
    USING (clinic_id = current_setting('app.clinic_id', true))
    WITH CHECK (clinic_id = current_setting('app.clinic_id', true));

-- +goose Down
DROP TABLE patient_mrn_counters;
DROP TABLE patient_tags;
DROP TABLE patient_name_prefixes;
DROP TABLE patients;
