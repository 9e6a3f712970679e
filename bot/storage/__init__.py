"""Storage: the jobs, each server's settings and each member's defaults, in SQLite or
PostgreSQL (one interface, `backend.py`), behind small stores."""

from bot.storage.admission import Limits, Refused, RepeatWindow
from bot.storage.backend import WRITE_ERRORS, Database, DatabaseUnavailable, StorageError
from bot.storage.db import Storage, open_storage
from bot.storage.guild_settings import Change, GuildSettingsStore
from bot.storage.holds import Hold, Holds
from bot.storage.jobs import JobStore
from bot.storage.leases import DEFAULT_LEASE_SECONDS, Held, Leases, claim_sql
from bot.storage.member_settings import MemberSettingsStore
from bot.storage.records import ACTIVE, FINAL, UNMADE, Job, NewJob, Status
from bot.storage.reports import JobReports, Tally
from bot.storage.sqlite import FOLDER_MODE

__all__ = [
    "ACTIVE",
    "DEFAULT_LEASE_SECONDS",
    "FINAL",
    "FOLDER_MODE",
    "UNMADE",
    "WRITE_ERRORS",
    "Change",
    "Database",
    "DatabaseUnavailable",
    "GuildSettingsStore",
    "Held",
    "Hold",
    "Holds",
    "Job",
    "JobReports",
    "JobStore",
    "Leases",
    "Limits",
    "MemberSettingsStore",
    "NewJob",
    "Refused",
    "RepeatWindow",
    "Status",
    "Storage",
    "StorageError",
    "Tally",
    "claim_sql",
    "open_storage",
]
