-- Until this moment a request this job sent to Zoom may still land there (a create or an
-- update whose answer never came). Nobody claims the job before it, whatever happens to the
-- lease or the job's generation meanwhile: a second create could otherwise duplicate the
-- meeting, or an older update land after a newer one.
ALTER TABLE meeting_jobs ADD COLUMN fence_until BIGINT NOT NULL DEFAULT 0;
