-- How a doctor's video visits start: the clinic's defaults (one row), which of them a doctor
-- may change, and each doctor's own choices (NULL: follow the clinic). The privacy contract is
-- not here: no preference can touch it. `revision` counts changes Zoom must hear about; each
-- meeting records the revision it was last sent (`meetings.prefs_revision`), so the worker
-- knows which of a doctor's upcoming meetings still need an update.
CREATE TABLE clinic_preferences (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    visit_minutes      INTEGER NOT NULL DEFAULT 30 CHECK (visit_minutes BETWEEN 5 AND 240),
    host_video         INTEGER NOT NULL DEFAULT 1 CHECK (host_video IN (0, 1)),
    participant_video  INTEGER NOT NULL DEFAULT 1 CHECK (participant_video IN (0, 1)),
    mute_upon_entry    INTEGER NOT NULL DEFAULT 0 CHECK (mute_upon_entry IN (0, 1)),
    -- Minutes before the visit, comma-separated, largest first.
    reminder_leads     TEXT    NOT NULL DEFAULT '1440,15',
    -- The fields (keys, comma-separated) a doctor may set for themselves.
    doctor_may_change  TEXT    NOT NULL
        DEFAULT 'visit_minutes,host_video,participant_video,mute_upon_entry,reminder_leads',
    updated_at         INTEGER NOT NULL DEFAULT 0
);
INSERT INTO clinic_preferences (id) VALUES (1);

CREATE TABLE doctor_preferences (
    user_id            INTEGER PRIMARY KEY REFERENCES users (id),
    visit_minutes      INTEGER CHECK (visit_minutes BETWEEN 5 AND 240),
    host_video         INTEGER CHECK (host_video IN (0, 1)),
    participant_video  INTEGER CHECK (participant_video IN (0, 1)),
    mute_upon_entry    INTEGER CHECK (mute_upon_entry IN (0, 1)),
    reminder_leads     TEXT,
    revision           INTEGER NOT NULL DEFAULT 0,
    -- What the doctor's Zoom account forced against a preference, as last seen when a meeting
    -- was read back (keys such as `participant_video=false`, comma-separated).
    zoom_forced        TEXT,
    updated_at         INTEGER NOT NULL
);

ALTER TABLE meetings ADD COLUMN prefs_revision INTEGER NOT NULL DEFAULT 0;

-- Meeting creates and updates this app sent per host and UTC day: Zoom allows 100 a day per
-- user, and preference updates must leave room for bookings.
CREATE TABLE zoom_daily_calls (
    host_id  INTEGER NOT NULL REFERENCES users (id),
    day      INTEGER NOT NULL,
    calls    INTEGER NOT NULL,
    PRIMARY KEY (host_id, day)
);
