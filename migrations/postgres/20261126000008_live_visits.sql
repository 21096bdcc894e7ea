-- Live visits: Zoom webhooks. The clinic's webhook secret token (sealed like the client
-- secret), the durable inbox of received events, counters of what arrived, and what Zoom
-- told us about each meeting (waiting room, started, ended).

ALTER TABLE zoom_settings ADD COLUMN webhook_secret_enc TEXT;
ALTER TABLE zoom_settings ADD COLUMN webhook_secret_set_at BIGINT;

-- Milliseconds since the epoch, as Zoom's `event_ts`. `live_waiting_ts` is the time of the
-- last waiting-room event applied, so an older one delivered late never undoes a newer one.
ALTER TABLE meetings ADD COLUMN live_waiting_since BIGINT;
ALTER TABLE meetings ADD COLUMN live_waiting_ts BIGINT;
ALTER TABLE meetings ADD COLUMN live_started_at BIGINT;
ALTER TABLE meetings ADD COLUMN live_ended_at BIGINT;

-- One row per event Zoom delivered (at least once, retried at +5, +20 and +60 minutes):
-- `dedup_key` is a hash of event, meeting uuid (or user) and event time, so a redelivery
-- finds its row. Only the fields the app acts on are kept, never participants' names or
-- emails; once processed, the Zoom identifiers are cleared and only the key stays. A row is
-- processed by the meeting worker under a lease, like a meeting job.
CREATE TABLE webhook_events (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedup_key     TEXT    NOT NULL,
    event         TEXT    NOT NULL,
    event_ts      BIGINT  NOT NULL,
    meeting_id    BIGINT,
    meeting_uuid  TEXT,
    zoom_user_id  TEXT,
    happened_at   BIGINT,
    received_at   BIGINT  NOT NULL,
    due_at        BIGINT  NOT NULL,
    attempts      BIGINT  NOT NULL DEFAULT 0,
    lease_owner   TEXT,
    lease_until   BIGINT  NOT NULL DEFAULT 0,
    processed_at  BIGINT,
    outcome       TEXT,
    CONSTRAINT webhook_events_dedup_key UNIQUE (dedup_key)
);
CREATE INDEX webhook_events_due_idx ON webhook_events (processed_at, due_at);

-- What the webhook endpoint received, by kind (accepted, duplicate, refused_signature,
-- refused_stale, refused_malformed, refused_account, unknown_meeting…), for the admin.
CREATE TABLE webhook_counters (
    name   TEXT   PRIMARY KEY,
    count  BIGINT NOT NULL DEFAULT 0
);

-- 1 while a meeting failed because its doctor's Zoom connection is gone (disconnected,
-- deauthorized, to be renewed): a reconnect queues exactly these again.
ALTER TABLE meetings ADD COLUMN needs_reconnect BIGINT NOT NULL DEFAULT 0;
