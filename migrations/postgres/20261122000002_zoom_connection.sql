-- Zoom connection: the clinic's app credentials, doctors' OAuth grants, the Server-to-Server
-- account token, doctor-to-Zoom-user mappings and pending OAuth authorizations.
-- Every *_enc column holds an AES-256-GCM ciphertext tagged with its key id, never plaintext.

CREATE TABLE zoom_settings (
    id                 BIGINT PRIMARY KEY CHECK (id = 1),
    mode               TEXT    NOT NULL CHECK (mode IN ('user_oauth', 'server_to_server')),
    client_id          TEXT    NOT NULL,
    client_secret_enc  TEXT    NOT NULL,
    account_id         TEXT,
    secret_set_at      BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    updated_by         BIGINT REFERENCES users (id)
);

-- One user-managed OAuth grant per doctor. `version` increases with every token rotation; a
-- refresh is claimed with a lease and committed with compare-and-swap on `version`, so only
-- one refresh per grant is ever in flight across all requests and app instances.
CREATE TABLE zoom_connections (
    user_id             BIGINT PRIMARY KEY REFERENCES users (id),
    zoom_user_id        TEXT    NOT NULL,
    zoom_email          TEXT    NOT NULL,
    access_token_enc    TEXT    NOT NULL,
    refresh_token_enc   TEXT    NOT NULL,
    access_expires_at   BIGINT NOT NULL,
    scope               TEXT    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('connected', 'reconnect_needed')),
    status_reason       TEXT,
    version             BIGINT NOT NULL DEFAULT 0,
    refresh_lease_until BIGINT NOT NULL DEFAULT 0,
    connected_at        BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

-- The Server-to-Server account token, shared by every request and instance.
CREATE TABLE zoom_account_token (
    id                BIGINT PRIMARY KEY CHECK (id = 1),
    access_token_enc  TEXT,
    scope             TEXT,
    expires_at        BIGINT NOT NULL DEFAULT 0,
    version           BIGINT NOT NULL DEFAULT 0,
    lease_until       BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE zoom_user_mappings (
    user_id     BIGINT PRIMARY KEY REFERENCES users (id),
    zoom_user   TEXT    NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- OAuth `state` values: stored hashed, bound to the session that asked, one use, 10 minutes.
CREATE TABLE oauth_states (
    state_hash     TEXT    PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id),
    session_tag    TEXT    NOT NULL,
    verifier_enc   TEXT    NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
