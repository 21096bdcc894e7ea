-- Notifications: the durable outbox of mails, what each visit's attendees were last told, the
-- single-use sign-in and invitation links, and the last known health of each Zoom connection.

-- One row per mail. Rendered when queued (what was true at the change), sent by leased jobs:
-- a worker takes a row until `lease_until`; a process that dies mid-send leaves the lease to
-- run out, and the row is sent again (the one repeat README mentions).
CREATE TABLE mail_outbox (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- What this mail is about, once: a second queueing of the same thing is ignored.
    dedupe_key    TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    recipient     TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    body_text     TEXT    NOT NULL,
    body_html     TEXT    NOT NULL,
    ics           TEXT,
    state         TEXT    NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    attempts      BIGINT  NOT NULL DEFAULT 0,
    due_at        BIGINT  NOT NULL,
    lease_owner   TEXT,
    lease_until   BIGINT  NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    BIGINT  NOT NULL,
    sent_at       BIGINT,
    CONSTRAINT mail_outbox_dedupe_key UNIQUE (dedupe_key)
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (state, due_at);

-- The last version of each visit its attendees were told about (and to which doctor), so a
-- change is announced once, also when the process died between the change and the mail.
CREATE TABLE visit_notices (
    appointment_id BIGINT PRIMARY KEY REFERENCES appointments (id),
    version        BIGINT  NOT NULL,
    doctor_id      BIGINT  NOT NULL REFERENCES users (id)
);
-- Visits made before this version were never announced: they are not announced now either.
INSERT INTO visit_notices (appointment_id, version, doctor_id)
    SELECT id, version, doctor_id FROM appointments;

-- Sign-in links and invitations: only a hash of the token is kept; `used_at` makes it single use.
CREATE TABLE login_links (
    token_hash    TEXT    PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id),
    purpose       TEXT    NOT NULL CHECK (purpose IN ('sign_in', 'invite')),
    next_path     TEXT,
    expires_at    BIGINT  NOT NULL,
    used_at       BIGINT,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX login_links_user_idx ON login_links (user_id);

-- The problem last seen on each doctor's Zoom connection (NULL: healthy) and since when: a
-- warning goes out when a problem starts, not at every check.
CREATE TABLE zoom_health (
    doctor_id     BIGINT PRIMARY KEY REFERENCES users (id),
    problem       TEXT,
    since         BIGINT  NOT NULL,
    checked_at    BIGINT  NOT NULL
);
