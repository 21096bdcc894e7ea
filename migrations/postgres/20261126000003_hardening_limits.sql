-- Per-person limits counted before the action they limit, so parallel requests cannot exceed
-- them: a patient's bookings and reschedules per day, and bookings in flight (see
-- persistence/limits.rs).
CREATE TABLE rate_events (
    id       BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind     TEXT    NOT NULL,
    subject  TEXT    NOT NULL,
    at       BIGINT  NOT NULL
);
CREATE INDEX rate_events_lookup_idx ON rate_events (kind, subject, at);

-- One Zoom user hosts one doctor's visits: two doctors mapped to the same Zoom user could
-- start each other's meetings. Zoom compares emails without case, so the index does too.
-- An install that already has such a pair keeps the earliest doctor's mapping; the admin
-- page then shows the other doctor as not mapped.
DELETE FROM zoom_user_mappings
WHERE user_id NOT IN (SELECT MIN(user_id) FROM zoom_user_mappings GROUP BY lower(zoom_user));
CREATE UNIQUE INDEX zoom_user_mappings_zoom_user_key ON zoom_user_mappings (lower(zoom_user));

-- A doctor keeps only the newest few unused OAuth states; "newest" needs finer than the
-- second-granular expiry to be well defined.
ALTER TABLE oauth_states ADD COLUMN created_ms BIGINT NOT NULL DEFAULT 0;
