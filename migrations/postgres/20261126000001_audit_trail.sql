-- The audit trail grows up: who acted (a person, the system's meeting worker, or nobody
-- logged in), and counted entries. Refusals that name no real subject (an anonymous caller's
-- random ids) fold into one row per action, outcome and hour instead of one row per request,
-- so nobody can fill the table or write subjects of their choosing.
ALTER TABLE audit_log ADD COLUMN actor_kind TEXT NOT NULL DEFAULT 'user'
    CHECK (actor_kind IN ('user', 'system', 'anonymous'));
ALTER TABLE audit_log ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
ALTER TABLE audit_log ADD COLUMN bucket TEXT;
UPDATE audit_log SET actor_kind = 'anonymous' WHERE actor_id IS NULL;
CREATE UNIQUE INDEX audit_log_bucket_idx ON audit_log (bucket);
CREATE INDEX audit_log_subject_idx ON audit_log (subject, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
