-- Why a job ended without a video, as a key of the wording catalogue (bot/discord/wording.py);
-- last_error keeps the detail that fills its sentence.
ALTER TABLE jobs ADD COLUMN failure TEXT;
