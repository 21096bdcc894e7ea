-- The privacy contract at Zoom. A meeting whose settings Zoom would not keep (an account lock
-- turning on recording, say) is `blocked`: no join link for the patient until it is fixed. A
-- meeting removed at Zoom after its visit (so a forwarded link stops working) is `closed`.
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt with the same
-- columns in the same order.
CREATE TABLE meetings_new (
    appointment_id    INTEGER PRIMARY KEY REFERENCES appointments (id),
    host_id           INTEGER NOT NULL REFERENCES users (id),
    marker            TEXT    NOT NULL,
    state             TEXT    NOT NULL
        CHECK (state IN ('pending', 'ready', 'failed', 'cancelled', 'blocked', 'closed')),
    zoom_meeting_id   BIGINT,
    zoom_uuid         TEXT,
    join_url_enc      TEXT,
    passcode_enc      TEXT,
    create_attempted  INTEGER NOT NULL DEFAULT 0 CHECK (create_attempted IN (0, 1)),
    -- What Zoom changed, and where the clinic's Zoom admin fixes it.
    settings_warning  TEXT,
    synced_version    INTEGER NOT NULL DEFAULT -1,
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    updated_at        INTEGER NOT NULL,
    CONSTRAINT meetings_marker_key UNIQUE (marker)
);
INSERT INTO meetings_new SELECT * FROM meetings;
DROP TABLE meetings;
ALTER TABLE meetings_new RENAME TO meetings;

-- Each doctor's Zoom licence as last read: a Basic (free) host's meetings end after 40
-- minutes and no BAA covers them, so longer visits with that doctor are refused.
CREATE TABLE zoom_hosts (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id),
    licence     TEXT    NOT NULL CHECK (licence IN ('basic', 'licensed')),
    checked_at  INTEGER NOT NULL
);
