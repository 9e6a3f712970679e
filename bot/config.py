"""Settings, read from the environment and `.env` (names are part of the public interface)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

HOW_TO_GET_A_BOT_KEY = (
    "DISCORD_TOKEN is not set. Create an application at "
    "https://discord.com/developers/applications, open Bot > Reset Token, and put the token "
    "in .env as DISCORD_TOKEN=... (the README walks through it)."
)

# What each setting expects, in words: used to turn a validation error into one clear line.
EXPECTED: dict[str, str] = {
    "DISCORD_TOKEN": "the bot token from the Discord developer portal",
    "DISCORD_GUILD_ID": "a server id (a number), or nothing",
    "DISCORD_API_BASE_URL": "an http(s) URL such as https://discord.com/api/v10",
    "DISCORD_GATEWAY_URL": "a ws(s) URL such as wss://gateway.discord.gg/",
    "PIKA_API_KEY": "your Pika Web Bot API key, or nothing for the local Pika",
    "PIKA_BASE_URL": "an http(s) URL such as https://api.pikapikapika.io",
    "DATABASE_URL": "a URL of the form sqlite:///path/to/file.sqlite3",
    "POLL_INTERVAL_SECONDS": "a number of seconds from 0.05 to 600",
    "JOB_TIMEOUT_MINUTES": "a number of minutes greater than 0, at most 1440",
    "WEBHOOK_PUBLIC_URL": "an http(s) URL reachable by Pika, or nothing to poll only",
    "WEBHOOK_LISTEN": "host:port to listen on, such as 0.0.0.0:8080",
    "LOCAL_PIKA_JOB_SECONDS": "a number of seconds from 0 to 600",
    "LOCAL_PIKA_PORT": "a port number from 0 to 65535 (0 picks a free port)",
    "LOG_LEVEL": "one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
}


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one line a person can act on."""


class Settings(BaseSettings):
    """Every setting of the bot. Field names are the environment variable names, lower-cased."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    discord_token: SecretStr | None = None
    discord_guild_id: int | None = Field(default=None, gt=0)
    discord_api_base_url: AnyHttpUrl = AnyHttpUrl("https://discord.com/api/v10")
    discord_gateway_url: str = "wss://gateway.discord.gg/"
    pika_api_key: SecretStr | None = None
    pika_base_url: AnyHttpUrl = AnyHttpUrl("https://api.pikapikapika.io")
    database_url: str = "sqlite:///./data/pika-bot.sqlite3"
    poll_interval_seconds: float = Field(default=5.0, ge=0.05, le=600)
    job_timeout_minutes: float = Field(default=30.0, gt=0, le=1440)
    webhook_public_url: AnyHttpUrl | None = None
    webhook_listen: str = "0.0.0.0:8080"
    local_pika_job_seconds: float = Field(default=8.0, ge=0, le=600)
    # A fixed port keeps the local Pika's result URLs valid across restarts of the bot.
    local_pika_port: int = Field(default=8765, ge=0, le=65535)
    log_level: LogLevel = "INFO"

    @field_validator("discord_guild_id", "pika_api_key", "webhook_public_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `.env.example` leaves optional settings as `NAME=`; an empty string means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("discord_gateway_url")
    @classmethod
    def _websocket_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value

    @field_validator("database_url")
    @classmethod
    def _sqlite_url(cls, value: str) -> str:
        if not value.startswith("sqlite:///") or len(value) <= len("sqlite:///"):
            raise ValueError("must look like sqlite:///path/to/file.sqlite3")
        return value

    @field_validator("webhook_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be host:port")
        return value

    @property
    def database_path(self) -> Path:
        """The SQLite file named by DATABASE_URL."""
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def webhook_host_port(self) -> tuple[str, int]:
        """WEBHOOK_LISTEN split into host and port."""
        host, _, port = self.webhook_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def uses_local_pika(self) -> bool:
        """True when no API key is set: videos come from the embedded local Pika."""
        return self.pika_api_key is None

    def secrets(self) -> list[str]:
        """Every secret value, for the log redaction filter."""
        return [s.get_secret_value() for s in (self.discord_token, self.pika_api_key) if s]


def describe(error: ValidationError) -> str:
    """One line per invalid setting: its name, what it expects, and what was wrong."""
    lines = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else "settings"
        expected = EXPECTED.get(name, "a valid value")
        reason = item["msg"].removeprefix("Value error, ")
        lines.append(f"{name}: expected {expected} ({reason}).")
    return "\n".join(dict.fromkeys(lines))


def load_settings(**overrides: object) -> Settings:
    """Read settings; raise ConfigError with a readable message when any is invalid."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None
