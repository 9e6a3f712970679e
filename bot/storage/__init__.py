"""Storage: the jobs and each server's settings, in SQLite, behind two small stores."""

from bot.storage.db import Storage, open_storage
from bot.storage.guild_settings import Change, GuildSettingsStore
from bot.storage.jobs import ACTIVE, FINAL, Job, JobStore, NewJob, Status

__all__ = [
    "ACTIVE",
    "FINAL",
    "Change",
    "GuildSettingsStore",
    "Job",
    "JobStore",
    "NewJob",
    "Status",
    "Storage",
    "open_storage",
]
