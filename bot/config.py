"""Settings, read from the environment and `.env` (names are part of the public interface)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit

from dotenv import dotenv_values
from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.safe_fetch import AllowedHost, parse_allowed_hosts

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["text", "json"]

HOW_TO_GET_A_BOT_KEY = (
    "DISCORD_TOKEN is not set. Create an application at "
    "https://discord.com/developers/applications, open Bot > Reset Token, and put the token "
    "in .env as DISCORD_TOKEN=... (the README walks through it)."
)


# What an owner reads when a PostgreSQL password holds a character that URLs reserve.
PERCENT_ENCODED = (
    "write @ : / ? # in a user name or password percent-encoded (@ as %40, : as %3A, "
    "/ as %2F, ? as %3F, # as %23)"
)


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one line a person can act on."""


class Settings(BaseSettings):
    """Every setting of the bot. Field names are the environment variable names, lower-cased."""

    # `.env.example` leaves optional settings as `NAME=`: a blank value means "not set", for
    # every setting (the default applies).
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    # Each description says what the setting expects, in words: a bad value is reported as
    # "NAME: expected <description> (<what was wrong>)."
    discord_token: SecretStr | None = Field(
        default=None, description="the bot token from the Discord developer portal"
    )
    # A snowflake is below 2**63: a longer number (two ids pasted together) is no server's.
    discord_guild_id: int | None = Field(
        default=None, gt=0, lt=2**63, description="a server id (a number), or nothing"
    )
    discord_api_base_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://discord.com/api/v10"),
        description="an http(s) URL such as https://discord.com/api/v10",
    )
    discord_gateway_url: str = Field(
        default="wss://gateway.discord.gg/",
        description="a ws(s) URL such as wss://gateway.discord.gg/",
    )
    # Unset: one process runs every shard, as many as Discord recommends. Set: several processes
    # can share the gateway, each naming its shards (DISCORD_SHARD_IDS) of the same count.
    discord_shard_count: int | None = Field(
        default=None,
        ge=1,
        description="a number of gateway shards, 1 or more, or nothing to follow "
        "Discord's recommendation",
    )
    # NoDecode: "0,1" is read by the validator below, not as JSON.
    discord_shard_ids: Annotated[tuple[Annotated[int, Field(ge=0)], ...] | None, NoDecode] = Field(
        default=None,
        description="comma-separated shard numbers such as 0,1, each below "
        "DISCORD_SHARD_COUNT (which must be set), or nothing for every shard",
    )
    pika_api_key: SecretStr | None = Field(
        default=None, description="your Pika Web Bot API key, or nothing for the local Pika"
    )
    pika_base_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://api.pikapikapika.io"),
        description="an http(s) URL such as https://api.pikapikapika.io",
    )
    database_url: str = Field(
        default="sqlite:///./data/pika-bot.sqlite3",
        description="a URL of the form sqlite:///path/to/file.sqlite3 or "
        "postgresql://user:password@host:port/database",
    )
    # The ledger of Pika's answers and the local Pika's videos: files, whatever the database.
    data_dir: Path | None = Field(
        default=None,
        description="a folder for the bot's own files, or nothing for the SQLite file's folder "
        "(./data with PostgreSQL)",
    )
    poll_interval_seconds: float = Field(
        default=5.0, ge=0.05, le=600, description="a number of seconds from 0.05 to 600"
    )
    job_timeout_minutes: float = Field(
        default=30.0, gt=0, le=1440, description="a number of minutes greater than 0, at most 1440"
    )
    # How long a process holds a job without renewing: another process sharing the database
    # takes over the jobs of one that died within this time and a third (it claims every third).
    job_lease_seconds: float = Field(
        default=30.0, ge=1, le=600, description="a number of seconds from 1 to 600"
    )
    webhook_public_url: AnyHttpUrl | None = Field(
        default=None, description="an http(s) URL reachable by Pika, or nothing to poll only"
    )
    http_listen: str = Field(
        default="127.0.0.1:8080",
        description="host:port for health, metrics and webhooks, such as 127.0.0.1:8080 "
        "(port 0 picks a free port)",
    )
    webhook_listen: str | None = Field(
        default=None, description="the old name of HTTP_LISTEN (host:port), or nothing"
    )
    local_pika_job_seconds: float = Field(
        default=8.0, ge=0, le=600, description="a number of seconds from 0 to 600"
    )
    # A fixed port keeps the local Pika's result URLs valid across restarts of the bot.
    local_pika_port: int = Field(
        default=8765,
        ge=0,
        le=65535,
        description="a port number from 0 to 65535 (0 picks a free port)",
    )
    local_pika_max_renders: int = Field(
        default=2, ge=1, le=16, description="a number of renders at once from 1 to 16"
    )
    local_pika_render_seconds: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="a number of seconds greater than 0, at most 86400",
    )
    local_pika_keep_days: float = Field(
        default=7.0, gt=0, le=3650, description="a number of days greater than 0, at most 3650"
    )
    # Member-given URLs never reach private addresses, except the hosts named here.
    allowed_private_hosts: str = Field(
        default="",
        description="comma-separated host or host:port entries, such as cdn.lan,127.0.0.1:9000",
    )
    # Not 0: a double click would then be two requests, and pay twice.
    repeat_press_seconds: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description="a number of seconds from 1 to 3600",
    )
    log_level: LogLevel = Field(
        default="INFO", description="one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
    )
    log_format: LogFormat = Field(
        default="text", description="text (for people) or json (one object a line, for collectors)"
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, values: object) -> object:
        # env_ignore_empty drops `NAME=`; a value of spaces only means "not set" as well.
        if isinstance(values, dict):
            return {k: v for k, v in values.items() if not (isinstance(v, str) and not v.strip())}
        return values

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("discord_gateway_url")
    @classmethod
    def _websocket_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",")]
            if not all(parts):
                raise ValueError("a shard number is missing between commas")
            return parts
        return value

    @field_validator("discord_shard_ids")
    @classmethod
    def _shards_of_the_count(
        cls, value: tuple[int, ...] | None, info: ValidationInfo
    ) -> tuple[int, ...] | None:
        if value is None:
            return None
        if len(set(value)) != len(value):
            raise ValueError("a shard is named twice")
        if "discord_shard_count" not in info.data:
            return value  # the count is invalid itself, and says so
        count = info.data["discord_shard_count"]
        if count is None:
            raise ValueError("DISCORD_SHARD_COUNT is not set")
        beyond = [shard for shard in value if shard >= count]
        if beyond:
            raise ValueError(f"shard {beyond[0]} is not below DISCORD_SHARD_COUNT {count}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # The message never repeats the value: it may hold a password.
        if value.startswith("sqlite:///") and len(value) > len("sqlite:///"):
            return value
        if value.startswith(("postgresql://", "postgres://")):
            try:
                parts = urlsplit(value)
                parts.port  # noqa: B018 - raises ValueError on a port that is not a number
            except ValueError:
                raise ValueError(f"the PostgreSQL URL cannot be read; {PERCENT_ENCODED}") from None
            # The driver takes the host from the first @ and this check from the last: with an
            # @ left in a password, the bot would name one host and connect to another.
            if parts.netloc.count("@") > 1:
                raise ValueError(f"the user name or password holds an @; {PERCENT_ENCODED}")
            if parts.hostname or parts.path.strip("/"):
                return value
        raise ValueError("must start with sqlite:/// or postgresql://")

    @field_validator("http_listen", "webhook_listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError("must be host:port")
        return value

    @field_validator("allowed_private_hosts")
    @classmethod
    def _allowed_hosts(cls, value: str) -> str:
        parse_allowed_hosts(value)
        return value

    @property
    def allowed_hosts(self) -> tuple[AllowedHost, ...]:
        """ALLOWED_PRIVATE_HOSTS, parsed."""
        return parse_allowed_hosts(self.allowed_private_hosts)

    @property
    def database_path(self) -> Path | None:
        """The SQLite file named by DATABASE_URL; None with PostgreSQL."""
        if not self.database_url.startswith("sqlite:///"):
            return None
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def files_dir(self) -> Path:
        """Where the bot keeps its own files: DATA_DIR, else beside the SQLite file (./data
        with PostgreSQL)."""
        if self.data_dir is not None:
            return self.data_dir
        path = self.database_path
        return path.parent if path is not None else Path("data")

    @property
    def ledger_path(self) -> Path:
        """The ledger of Pika's answers (`bot/jobs/ledger.py`): named after the SQLite file, or
        `pika-bot-accepted.jsonl` with PostgreSQL, in `files_dir`."""
        path = self.database_path
        stem = path.stem if path is not None else "pika-bot"
        return self.files_dir / f"{stem}-accepted.jsonl"

    @property
    def http_host_port(self) -> tuple[str, int]:
        """Where the bot's HTTP server listens: HTTP_LISTEN, or WEBHOOK_LISTEN (its old name)
        when only that one is set."""
        listen = self.http_listen
        if "http_listen" not in self.model_fields_set and self.webhook_listen is not None:
            listen = self.webhook_listen
        host, _, port = listen.rpartition(":")
        return host.strip("[]"), int(port)

    def set_aside(self) -> list[str]:
        """One line for each setting given but not used because another wins over it: the
        old WEBHOOK_LISTEN beside HTTP_LISTEN, as under Docker, whose image sets HTTP_LISTEN
        (an owner's WEBHOOK_LISTEN from an older release was ignored in silence there, and
        Pika's pushes went to a port nothing listened on)."""
        old, new = self.webhook_listen, self.http_listen
        if old is None or "http_listen" not in self.model_fields_set or old == new:
            return []
        return [
            f"WEBHOOK_LISTEN={old} is ignored: HTTP_LISTEN={new} is set, and the bot listens "
            "there (WEBHOOK_LISTEN is HTTP_LISTEN's old name; keep only HTTP_LISTEN)"
        ]

    @property
    def uses_local_pika(self) -> bool:
        """True when no API key is set: videos come from the embedded local Pika."""
        return self.pika_api_key is None

    def secrets(self) -> list[str]:
        """Every secret value, for the log redaction filter: the tokens, and the database's
        password."""
        found = [s.get_secret_value() for s in (self.discord_token, self.pika_api_key) if s]
        if self.database_path is None:
            # As written (percent-encoded) and as the driver sends it, decoded.
            password = urlsplit(self.database_url).password
            found += list(dict.fromkeys([password, unquote(password)])) if password else []
        return found


def setting_names() -> list[str]:
    """The environment variable of every setting."""
    return [name.upper() for name in Settings.model_fields]


def describe(error: ValidationError) -> str:
    """One line per invalid setting: its name, what it expects, and what was wrong."""
    lines = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        name = field.upper() or "settings"
        info = Settings.model_fields.get(field)
        expected = info.description if info and info.description else "a valid value"
        reason = item["msg"].removeprefix("Value error, ")
        lines.append(f"{name}: expected {expected} ({reason}).")
    return "\n".join(dict.fromkeys(lines))


# Names in .env that are meant for something else: compose.yaml reads POSTGRES_PASSWORD.
NOT_OURS = frozenset({"POSTGRES_PASSWORD"})
# A name starting so is surely meant for the bot, however unlike any setting it is.
OUR_PREFIXES = (
    "DISCORD_",
    "PIKA_",
    "LOCAL_PIKA_",
    "DATABASE_",
    "DATA_",
    "JOB_",
    "POLL_",
    "HTTP_",
    "WEBHOOK_",
    "REPEAT_",
    "ALLOWED_",
    "LOG_",
)


def misspelt_names(env_file: Path = Path(".env")) -> list[str]:
    """One line for each name in `env_file` that looks meant for the bot but is none of its
    settings, with the setting it is most like: pydantic ignores such a name in silence, and a
    typo would leave the setting at its default (DISCORD_TOKN: "DISCORD_TOKEN is not set")."""
    if not env_file.is_file():
        return []
    settings = setting_names()
    try:
        names = dotenv_values(env_file, encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []  # the settings' own reading of the file says what is wrong with it
    lines = []
    for name in (n.upper() for n in names):
        if name in settings or name in NOT_OURS:
            continue
        # A name with one of ours prefixes is meant for the bot: a looser likeness will do.
        ours = name.startswith(OUR_PREFIXES)
        like = difflib.get_close_matches(name, settings, n=1, cutoff=0.7 if ours else 0.8)
        if like:
            lines.append(
                f"{name} in {env_file} is not a setting and is ignored; did you mean {like[0]}?"
            )
        elif ours:
            lines.append(
                f"{name} in {env_file} is not a setting and is ignored (.env.example lists them)."
            )
    return lines


def load_settings(**overrides: object) -> Settings:
    """Read settings; raise ConfigError with a readable message when any is invalid."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None
