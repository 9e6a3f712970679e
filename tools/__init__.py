"""Scripts for the people who work on the bot (not shipped with it)."""
