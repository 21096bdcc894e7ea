-- Accounts, browser sessions, login throttling and the audit trail.
-- Times are Unix seconds (UTC) so both backends store and compare them identically.

CREATE TABLE users (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('admin', 'receptionist', 'doctor', 'patient')),
    display_name    TEXT,
    time_zone       TEXT,
    password_hash   TEXT    NOT NULL,
    active          BIGINT  NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    -- Bumped when the password changes: sessions carrying an older epoch stop working.
    session_epoch   BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE sessions (
    id          TEXT    PRIMARY KEY,
    data        TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE login_failures (
    id       BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope    TEXT    NOT NULL CHECK (scope IN ('account', 'address')),
    subject  TEXT    NOT NULL,
    at       BIGINT  NOT NULL
);
CREATE INDEX login_failures_lookup_idx ON login_failures (scope, subject, at);

CREATE TABLE audit_log (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT  NOT NULL,
    actor_id    BIGINT  REFERENCES users (id),
    action      TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    detail      TEXT
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
