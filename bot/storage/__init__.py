"""Storage: the jobs, each server's settings and each member's defaults, in SQLite or
PostgreSQL (one interface, `backend.py`), behind small stores."""

from bot.storage.admission import Limits, Refused, RepeatWindow
from bot.storage.backend import WRITE_ERRORS, Database, StorageError
from bot.storage.db import Storage, open_storage
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
    "Database",
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
