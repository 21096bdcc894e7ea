-- Telehealth visits: appointments, the Zoom meeting behind each one, and the durable queue of
-- Zoom work that keeps the two in step. The start URL is never stored: it is fetched fresh at
-- the moment a doctor clicks Start.

CREATE TABLE appointments (
    id                BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Random and unguessable: URLs and server functions use this, never the row id.
    public_id         TEXT    NOT NULL,
    doctor_id         BIGINT NOT NULL REFERENCES users (id),
    patient_id        BIGINT NOT NULL REFERENCES users (id),
    starts_at         BIGINT NOT NULL,
    booked_zone       TEXT    NOT NULL,
    duration_minutes  BIGINT NOT NULL CHECK (duration_minutes BETWEEN 5 AND 240),
    reason            TEXT,
    status            TEXT    NOT NULL CHECK (status IN ('scheduled', 'cancelled')),
    -- Bumped by every change Zoom must hear about; the meeting records which one it reflects.
    version           BIGINT NOT NULL DEFAULT 0,
    created_by        BIGINT REFERENCES users (id),
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    CONSTRAINT appointments_public_id_key UNIQUE (public_id)
);
CREATE INDEX appointments_doctor_idx ON appointments (doctor_id, starts_at);
CREATE INDEX appointments_patient_idx ON appointments (patient_id, starts_at);
CREATE INDEX appointments_starts_at_idx ON appointments (starts_at);

-- One row per appointment: the Zoom meeting it has, or is getting.
CREATE TABLE meetings (
    appointment_id    BIGINT PRIMARY KEY REFERENCES appointments (id),
    -- The doctor whose Zoom user hosts the meeting (differs from the appointment's doctor
    -- while a change of doctor is being carried out).
    host_id           BIGINT NOT NULL REFERENCES users (id),
    -- Written into the meeting's agenda, so the meeting can be found after an unclear failure.
    marker            TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('pending', 'ready', 'failed', 'cancelled')),
    zoom_meeting_id   BIGINT,
    zoom_uuid         TEXT,
    join_url_enc      TEXT,
    passcode_enc      TEXT,
    -- 1 once a create request may have reached Zoom: from then on, look before creating.
    create_attempted  BIGINT NOT NULL DEFAULT 0 CHECK (create_attempted IN (0, 1)),
    -- Why Zoom's meeting differs from what we asked (waiting room or passcode overridden).
    settings_warning  TEXT,
    synced_version    BIGINT NOT NULL DEFAULT -1,
    attempts          BIGINT NOT NULL DEFAULT 0,
    last_error        TEXT,
    updated_at        BIGINT NOT NULL,
    CONSTRAINT meetings_marker_key UNIQUE (marker)
);

-- At most one pending job per appointment: "make Zoom match the appointment". A worker
-- claims it with a lease; `generation` changes whenever new work is queued, so a worker that
-- finishes an older generation leaves the newer one in place.
CREATE TABLE meeting_jobs (
    appointment_id    BIGINT PRIMARY KEY REFERENCES appointments (id),
    generation        BIGINT NOT NULL DEFAULT 0,
    due_at            BIGINT NOT NULL,
    attempts          BIGINT NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_until       BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL
);
CREATE INDEX meeting_jobs_due_idx ON meeting_jobs (due_at);
