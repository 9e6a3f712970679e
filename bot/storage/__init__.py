"""Storage: the jobs and each server's settings, in SQLite, behind two small stores."""

from bot.storage.admission import Limits, Refused
from bot.storage.db import WRITE_ERRORS, Storage, open_storage
from bot.storage.guild_settings import Change, GuildSettingsStore
from bot.storage.jobs import ACTIVE, FINAL, Job, JobStore, NewJob, Status
from bot.storage.reports import JobReports, Tally

__all__ = [
    "ACTIVE",
    "FINAL",
    "WRITE_ERRORS",
    "Change",
    "GuildSettingsStore",
    "Job",
    "JobReports",
    "JobStore",
    "Limits",
    "NewJob",
    "Refused",
    "Status",
    "Storage",
    "Tally",
    "open_storage",
]
