"""Settings: defaults, one clear line per bad setting, and `python -m bot` without a token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import (
    HOW_TO_GET_A_BOT_KEY,
    ConfigError,
    Settings,
    load_settings,
    misspelt_names,
    setting_names,
)

SETTING_NAMES = setting_names()
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_match_the_documented_values() -> None:
    settings = Settings()
    assert str(settings.discord_api_base_url) == "https://discord.com/api/v10"
    assert settings.discord_gateway_url == "wss://gateway.discord.gg/"
    assert str(settings.pika_base_url).rstrip("/") == "https://api.pikapikapika.io"
    assert settings.database_url == "sqlite:///./data/pika-bot.sqlite3"
    assert settings.database_path == Path("./data/pika-bot.sqlite3")
    assert settings.log_level == "INFO"
    assert settings.uses_local_pika
    assert settings.discord_token is None


def test_every_documented_setting_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = {
        "DISCORD_TOKEN": "tok.en.value",
        "DISCORD_GUILD_ID": "123456789012345678",
        "DISCORD_API_BASE_URL": "http://127.0.0.1:9/api/v10",
        "DISCORD_GATEWAY_URL": "ws://127.0.0.1:9/gateway",
        "DISCORD_SHARD_COUNT": "4",
        "DISCORD_SHARD_IDS": "3, 1",
        "PIKA_API_KEY": "pk-secret-value",
        "PIKA_BASE_URL": "http://127.0.0.1:8/",
        "DATABASE_URL": "sqlite:////tmp/x.sqlite3",
        "DATA_DIR": "/srv/pika",
        "POLL_INTERVAL_SECONDS": "2.5",
        "JOB_TIMEOUT_MINUTES": "12",
        "JOB_LEASE_SECONDS": "45",
        "REPEAT_PRESS_SECONDS": "30",
        "WEBHOOK_PUBLIC_URL": "https://bot.example.org",
        "HTTP_LISTEN": "127.0.0.1:8099",
        "WEBHOOK_LISTEN": "0.0.0.0:9000",
        "LOCAL_PIKA_JOB_SECONDS": "1.5",
        "LOCAL_PIKA_PORT": "0",
        "LOCAL_PIKA_MAX_RENDERS": "3",
        "LOCAL_PIKA_RENDER_SECONDS": "60",
        "LOCAL_PIKA_KEEP_DAYS": "2.5",
        "ALLOWED_PRIVATE_HOSTS": "media.lan, 127.0.0.1:9000",
        "LOG_LEVEL": "debug",
        "LOG_FORMAT": "JSON",
    }
    assert set(values) == set(SETTING_NAMES)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    s = load_settings()
    assert s.discord_token is not None and s.discord_token.get_secret_value() == "tok.en.value"
    assert s.discord_guild_id == 123456789012345678
    assert (s.discord_shard_count, s.discord_shard_ids) == (4, (3, 1))
    assert s.poll_interval_seconds == 2.5
    assert s.job_timeout_minutes == 12
    assert s.job_lease_seconds == 45
    assert s.repeat_press_seconds == 30
    assert s.http_host_port == ("127.0.0.1", 8099)  # HTTP_LISTEN wins over its old name
    assert s.log_format == "json"
    assert s.local_pika_job_seconds == 1.5
    assert s.local_pika_port == 0
    assert (s.local_pika_max_renders, s.local_pika_render_seconds) == (3, 60)
    assert s.local_pika_keep_days == 2.5
    assert [(h.host, h.port) for h in s.allowed_hosts] == [("media.lan", None), ("127.0.0.1", 9000)]
    assert s.log_level == "DEBUG"
    assert s.database_path == Path("/tmp/x.sqlite3")
    assert s.ledger_path == Path("/srv/pika/x-accepted.jsonl")
    assert not s.uses_local_pika
    assert sorted(s.secrets()) == ["pk-secret-value", "tok.en.value"]
    assert "pk-secret-value" not in repr(s)


def test_postgresql_is_chosen_by_its_url_and_its_password_is_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:hunter2@db.lan:5432/pika")
    s = load_settings()
    assert s.database_path is None
    assert s.files_dir == Path("data")  # no SQLite file to sit beside
    assert s.ledger_path == Path("data/pika-bot-accepted.jsonl")
    assert s.secrets() == ["hunter2"]  # redacted wherever it would be logged
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:hunter2@db:port/pika")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "hunter2" not in str(caught.value)


def test_settings_come_from_dot_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=from-file\nPIKA_API_KEY=\nLOG_LEVEL=warning\n")
    s = load_settings()
    assert s.discord_token is not None and s.discord_token.get_secret_value() == "from-file"
    assert s.pika_api_key is None  # blank means unset
    assert s.log_level == "WARNING"


def test_a_blank_setting_is_unset_whatever_the_setting(tmp_path: Path) -> None:
    """`cp .env.example .env` leaves `NAME=` lines: each one means "use the default"."""
    (tmp_path / ".env").write_text("".join(f"{name}=\n" for name in SETTING_NAMES))
    assert load_settings() == Settings(_env_file=None)
    (tmp_path / ".env").write_text("".join(f"{name}=   \n" for name in SETTING_NAMES))
    assert load_settings().discord_token is None


def test_a_blank_environment_variable_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTING_NAMES:
        monkeypatch.setenv(name, "")
    settings = load_settings()
    assert settings.discord_token is None
    assert settings.pika_api_key is None
    assert settings.poll_interval_seconds == 5.0
    assert settings.http_host_port == ("127.0.0.1", 8080)


def test_webhook_listen_still_works_as_the_old_name_of_http_listen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().http_host_port == ("127.0.0.1", 8080)
    monkeypatch.setenv("WEBHOOK_LISTEN", "0.0.0.0:8181")
    assert load_settings().http_host_port == ("0.0.0.0", 8181)  # noqa: S104
    monkeypatch.setenv("HTTP_LISTEN", "[::1]:0")
    assert load_settings().http_host_port == ("::1", 0)


def test_an_old_webhook_listen_beside_http_listen_is_pointed_out_not_ignored_in_silence(
    tmp_path: Path,
) -> None:
    """Under Docker the image sets HTTP_LISTEN; an owner's WEBHOOK_LISTEN of an older release
    lost to it without a word, and Pika's pushes went to a port nothing listened on."""
    (tmp_path / ".env").write_text("WEBHOOK_LISTEN=0.0.0.0:9000\n")
    result = run_bot(tmp_path, HTTP_LISTEN="0.0.0.0:8080")
    assert (
        "WEBHOOK_LISTEN=0.0.0.0:9000 is ignored: HTTP_LISTEN=0.0.0.0:8080 is set, and the bot "
        "listens there" in result.stderr
    )
    for same_or_alone in ({"HTTP_LISTEN": "0.0.0.0:9000"}, {}):
        result = run_bot(tmp_path, **same_or_alone)
        assert "is ignored" not in result.stderr, same_or_alone


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("POLL_INTERVAL_SECONDS", "soon"),
        ("POLL_INTERVAL_SECONDS", "0"),
        ("JOB_TIMEOUT_MINUTES", "-1"),
        ("JOB_LEASE_SECONDS", "0.5"),
        ("JOB_LEASE_SECONDS", "a minute"),
        ("LOG_LEVEL", "LOUD"),
        ("DATABASE_URL", "mysql://db/x"),
        ("DATABASE_URL", "postgresql://"),
        ("DATABASE_URL", "postgresql://bot:hunter2@db:port/pika"),
        ("DISCORD_GATEWAY_URL", "http://not-a-websocket"),
        ("DISCORD_API_BASE_URL", "discord.com"),
        ("PIKA_BASE_URL", "ftp://pika"),
        ("WEBHOOK_LISTEN", "8080"),
        ("HTTP_LISTEN", "localhost"),
        ("HTTP_LISTEN", "127.0.0.1:70000"),
        ("LOG_FORMAT", "xml"),
        ("WEBHOOK_PUBLIC_URL", "not a url"),
        ("DISCORD_GUILD_ID", "my-server"),
        ("DISCORD_GUILD_ID", "900000000020000100900000000020000100"),  # two ids pasted
        ("LOCAL_PIKA_JOB_SECONDS", "9999"),
        ("LOCAL_PIKA_PORT", "70000"),
        ("DISCORD_SHARD_COUNT", "0"),
        ("DISCORD_SHARD_COUNT", "two"),
        ("REPEAT_PRESS_SECONDS", "0"),  # a double click would pay twice
    ],
)
def test_an_invalid_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.count("\n") == 0
    assert message.startswith(f"{name}: expected ")


def test_without_shard_settings_the_process_runs_every_shard() -> None:
    settings = load_settings()
    assert (settings.discord_shard_count, settings.discord_shard_ids) == (None, None)


@pytest.mark.parametrize(
    ("count", "ids", "reason"),
    [
        (None, "0", "DISCORD_SHARD_COUNT is not set"),
        ("2", "2", "shard 2 is not below DISCORD_SHARD_COUNT 2"),
        ("2", "0,5", "shard 5 is not below DISCORD_SHARD_COUNT 2"),
        ("3", "1,1", "a shard is named twice"),
        ("2", "0,,1", "a shard number is missing between commas"),
        ("2", "-1", "Input should be greater than or equal to 0"),
        ("2", "first", "Input should be a valid integer"),
    ],
)
def test_shard_ids_must_be_shards_of_the_count(
    monkeypatch: pytest.MonkeyPatch, count: str | None, ids: str, reason: str
) -> None:
    if count is not None:
        monkeypatch.setenv("DISCORD_SHARD_COUNT", count)
    monkeypatch.setenv("DISCORD_SHARD_IDS", ids)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(
        "DISCORD_SHARD_IDS: expected comma-separated shard numbers such as 0,1, each below "
        "DISCORD_SHARD_COUNT (which must be set), or nothing for every shard ("
    )
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_shard_count_is_said_once_not_blamed_on_the_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "0")
    monkeypatch.setenv("DISCORD_SHARD_IDS", "0")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == (
        "DISCORD_SHARD_COUNT: expected a number of gateway shards, 1 or more, or nothing to "
        "follow Discord's recommendation (Input should be greater than or equal to 1)."
    )


def test_shards_of_a_count_are_taken_in_any_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "2")
    monkeypatch.setenv("DISCORD_SHARD_IDS", "1")
    assert load_settings().discord_shard_ids == (1,)
    monkeypatch.setenv("DISCORD_SHARD_IDS", " 1 , 0 ")
    assert load_settings().discord_shard_ids == (1, 0)


def run_bot(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python_m_bot_without_token_says_how_to_get_one(tmp_path: Path) -> None:
    result = run_bot(tmp_path)
    assert result.returncode == 2
    assert "DISCORD_TOKEN" in result.stderr
    assert "discord.com/developers/applications" in result.stderr
    assert "Traceback" not in result.stderr


def test_python_m_bot_from_a_copy_of_env_example_says_how_to_get_a_token(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    result = run_bot(tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [HOW_TO_GET_A_BOT_KEY]


def test_python_m_bot_with_invalid_setting_exits_2_without_traceback(tmp_path: Path) -> None:
    result = run_bot(tmp_path, DISCORD_TOKEN="x", POLL_INTERVAL_SECONDS="often")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Configuration error: POLL_INTERVAL_SECONDS: expected a number of seconds from 0.05 to "
        "600 (Input should be a valid number, unable to parse string as a number)."
    ]


@pytest.mark.parametrize("document", [".env.example", "README.md"])
def test_every_setting_is_documented_for_owners(document: str) -> None:
    text = (ROOT / document).read_text()
    assert [name for name in SETTING_NAMES if name not in text] == []


def test_every_setting_says_what_it_expects() -> None:
    assert all(info.description for info in Settings.model_fields.values())


@pytest.mark.parametrize(("reserved", "encoded"), [("@", "%40"), ("/", "%2F"), ("#", "%23")])
def test_a_postgresql_password_with_a_reserved_character_says_to_percent_encode_it(
    monkeypatch: pytest.MonkeyPatch, reserved: str, encoded: str
) -> None:
    """An @ left in the password made the driver connect to a host named after the password's
    end, while the bot's error named 127.0.0.1: the owner is told how to write it instead."""
    url = "postgresql://pika_bot:Str0ng{}Pass-2024@127.0.0.1:5432/pika_bot"
    monkeypatch.setenv("DATABASE_URL", url.format(reserved))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("DATABASE_URL: expected ")
    assert "@ as %40" in message
    assert "Pass-2024" not in message and "Str0ng" not in message
    monkeypatch.setenv("DATABASE_URL", url.format(encoded))
    # Hidden in the log as written and as the driver sends it.
    assert load_settings().secrets() == [f"Str0ng{encoded}Pass-2024", f"Str0ng{reserved}Pass-2024"]


def test_a_misspelt_setting_in_dot_env_is_pointed_out_not_ignored_in_silence(
    tmp_path: Path,
) -> None:
    """DISCORD_TOKN=... used to end in "DISCORD_TOKEN is not set", with no word about the line
    the owner wrote; now the bot names it and the setting it is most like."""
    (tmp_path / ".env").write_text("DISCORD_TOKN=tok.en.value\nPOLL_INTERVAL=10\n")
    result = run_bot(tmp_path)
    assert result.returncode == 2
    assert "DISCORD_TOKN in .env is not a setting and is ignored; did you mean DISCORD_TOKEN?" in (
        result.stderr
    )
    assert (
        "POLL_INTERVAL in .env is not a setting and is ignored; did you mean POLL_INTERVAL_SECONDS?"
        in (result.stderr)
    )
    assert "tok.en.value" not in result.stderr and "Traceback" not in result.stderr


def test_names_in_dot_env_that_are_settings_or_not_meant_for_the_bot_are_not_pointed_out(
    tmp_path: Path,
) -> None:
    (tmp_path / ".env").write_text(
        "discord_token=x\nPOSTGRES_PASSWORD=p\nTZ=Europe/Paris\nPIKA_KEY=k\nLOG_LEVELS=debug\n"
        "DISCORD_BOT_TOKEN=t\nDATA_RETENTION_DAYS=3\n"
    )
    assert misspelt_names() == [
        "PIKA_KEY in .env is not a setting and is ignored; did you mean PIKA_API_KEY?",
        "LOG_LEVELS in .env is not a setting and is ignored; did you mean LOG_LEVEL?",
        "DISCORD_BOT_TOKEN in .env is not a setting and is ignored; did you mean DISCORD_TOKEN?",
        "DATA_RETENTION_DAYS in .env is not a setting and is ignored (.env.example lists them).",
    ]
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    assert misspelt_names() == []
