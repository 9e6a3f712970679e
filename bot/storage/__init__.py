"""Storage: the jobs and each server's settings, in SQLite, behind two small stores."""

from bot.storage.db import Storage, StorageError, open_storage
from bot.storage.guild_settings import Change, GuildSettingsStore
from bot.storage.jobs import ACTIVE, FINAL, Job, JobStore, NewJob, Status
from bot.storage.reports import JobReports, Tally

__all__ = [
    "ACTIVE",
    "FINAL",
    "Change",
    "GuildSettingsStore",
    "Job",
    "JobReports",
    "JobStore",
    "NewJob",
    "Status",
    "Storage",
    "StorageError",
    "Tally",
    "open_storage",
]
