-- Which Zoom app settings a cached token came from (a hash, see video::zoom::AppSettings).
-- A token stamped with other settings than the current ones is treated as absent, so a fetch
-- still in flight under the old credentials when the admin saves new ones cannot cache a
-- token of the old app. NULL: stored before this column existed.
ALTER TABLE zoom_connections ADD COLUMN settings_fp TEXT;
ALTER TABLE zoom_account_token ADD COLUMN settings_fp TEXT;
