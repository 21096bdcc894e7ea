-- The privacy contract at Zoom. A meeting whose settings Zoom would not keep (an account lock
-- turning on recording, say) is `blocked`: no join link for the patient until it is fixed. A
-- meeting removed at Zoom after its visit (so a forwarded link stops working) is `closed`.
ALTER TABLE meetings DROP CONSTRAINT meetings_state_check;
ALTER TABLE meetings ADD CONSTRAINT meetings_state_check
    CHECK (state IN ('pending', 'ready', 'failed', 'cancelled', 'blocked', 'closed'));

-- Each doctor's Zoom licence as last read: a Basic (free) host's meetings end after 40
-- minutes and no BAA covers them, so longer visits with that doctor are refused.
CREATE TABLE zoom_hosts (
    user_id     BIGINT  PRIMARY KEY REFERENCES users (id),
    licence     TEXT    NOT NULL CHECK (licence IN ('basic', 'licensed')),
    checked_at  BIGINT  NOT NULL
);
