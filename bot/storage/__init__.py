"""Storage: the jobs, each server's settings and each member's defaults, in SQLite, behind
small stores."""

from bot.storage.admission import Limits, Refused, RepeatWindow
from bot.storage.db import WRITE_ERRORS, Storage, StorageError, open_storage
from bot.storage.guild_settings import Change, GuildSettingsStore
from bot.storage.jobs import JobStore
from bot.storage.member_settings import MemberSettingsStore
from bot.storage.records import ACTIVE, FINAL, UNMADE, Job, NewJob, Status
from bot.storage.reports import JobReports, Tally

__all__ = [
    "ACTIVE",
    "FINAL",
    "UNMADE",
    "WRITE_ERRORS",
    "Change",
    "GuildSettingsStore",
    "Job",
    "JobReports",
    "JobStore",
    "Limits",
    "MemberSettingsStore",
    "NewJob",
    "Refused",
    "RepeatWindow",
    "Status",
    "Storage",
    "StorageError",
    "Tally",
    "open_storage",
]
