"""Storage: the jobs, each server's settings and each member's defaults, in SQLite, behind
small stores."""

from bot.storage.db import Storage, StorageError, open_storage
from bot.storage.guild_settings import Change, GuildSettingsStore
from bot.storage.jobs import ACTIVE, FINAL, UNMADE, Job, JobStore, NewJob, Status
from bot.storage.member_settings import MemberSettingsStore
from bot.storage.reports import JobReports, Tally

__all__ = [
    "ACTIVE",
    "FINAL",
    "UNMADE",
    "Change",
    "GuildSettingsStore",
    "Job",
    "JobReports",
    "JobStore",
    "MemberSettingsStore",
    "NewJob",
    "Status",
    "Storage",
    "StorageError",
    "Tally",
    "open_storage",
]
