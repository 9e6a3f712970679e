-- A job made without a prompt of its own (an upscale, a lip sync) is headed, in its working
-- message, its Info and its failure, by the prompt of the video it was made from, as its
-- result is: kept with it, so that no message of it reads the parent again.
ALTER TABLE jobs ADD COLUMN lent_prompt TEXT;
