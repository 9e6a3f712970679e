"""The owner's and the newcomer's documents stay true to the code: every file they name exists,
every module is described in docs/architecture.md, and every setting is in README's table and
in `.env.example` with its default and its range."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import annotated_types
import pytest

from bot.config import Settings, setting_names

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
README = ROOT / "README.md"
ENV_EXAMPLE = ROOT / ".env.example"

# A path from the repository's root, as the documents write one between backticks.
ROOTED = re.compile(r"`((?:bot|cogs|tests|benchmarks|tools|docs|deploy)/[^`\s]*)`")


def _ticked_paths(text: str) -> list[str]:
    """The repository paths a document names (a function after `::` dropped)."""
    return [match.split("::")[0] for match in ROOTED.findall(text)]


def _exists(path: str) -> bool:
    # `locales/<language>.toml` and `locales/*.toml` name a kind of file: one must exist.
    pattern = re.sub(r"<[^>]+>", "*", path)
    return any(ROOT.glob(pattern)) if "*" in pattern else (ROOT / path).exists()


@pytest.mark.parametrize("document", [ARCHITECTURE, README], ids=lambda p: p.name)
def test_every_file_a_document_names_exists(document: Path) -> None:
    named = _ticked_paths(document.read_text())
    assert named, "the pattern no longer finds the document's paths"
    assert [path for path in named if not _exists(path)] == []


def test_every_file_the_bots_docstrings_and_comments_name_exists() -> None:
    missing = [
        f"{source.relative_to(ROOT)}: {path}"
        for package in ("bot", "cogs")
        for source in sorted((ROOT / package).rglob("*.py"))
        for path in _ticked_paths(source.read_text())
        if not _exists(path)
    ]
    assert missing == []


def _package_rows() -> dict[str, str]:
    """The table of `## The packages`: each folder it describes (`bot/jobs/`), and its row."""
    text = ARCHITECTURE.read_text()
    table = text.split("## The packages", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in table.splitlines():
        cells = line.split("|")
        if len(cells) < 4:
            continue
        for folder in re.findall(r"`([\w/]+/)`", cells[1]):
            rows[folder] = cells[2]
    return rows


def _in_or_above(folder: Path, name: str) -> bool:
    """A module in the folder or below it, or (a cross-reference) in a folder above it."""
    if list(folder.rglob(name)):
        return True
    return any((above / name).exists() for above in folder.parents if ROOT in above.parents)


def test_the_packages_table_names_only_modules_of_its_folders() -> None:
    rows = _package_rows()
    assert "bot/storage/" in rows and "cogs/" in rows
    missing = [
        f"{folder}{name}"
        for folder, row in rows.items()
        for name in re.findall(r"`(\w+\.py)", row)
        if not _in_or_above(ROOT / folder, name)
    ]
    assert missing == []


def _described(module: Path, text: str, rows: dict[str, str]) -> bool:
    """Whether architecture.md names the module by its path, or by its file name in the row of
    the nearest folder above it that has one."""
    relative = module.relative_to(ROOT).as_posix()
    if f"`{relative}" in text:
        return True
    for folder in module.relative_to(ROOT).parents:
        row = rows.get(f"{folder.as_posix()}/")
        if row is not None:
            return f"`{module.name}`" in row or f"`{module.name} " in row
    return False


def test_every_module_of_the_bot_is_described_in_the_architecture() -> None:
    text, rows = ARCHITECTURE.read_text(), _package_rows()
    modules = [
        path
        for package in ("bot", "cogs")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name != "__init__.py"
    ]
    undescribed = [m.relative_to(ROOT).as_posix() for m in modules if not _described(m, text, rows)]
    assert undescribed == []


def _shown(value: Any) -> str:
    """A setting's value as an owner writes it in `.env`."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    # pydantic's URLs end in "/" once parsed; the documents write them as the owner would.
    return str(value) if isinstance(value, str) else str(value).rstrip("/")


def _range(name: str) -> str | None:
    """The range of a setting bounded on both sides, in the documents' words."""
    bounds: dict[str, Any] = {}
    for item in Settings.model_fields[name.lower()].metadata:
        for kind in ("ge", "gt", "le", "lt"):
            if isinstance(item, getattr(annotated_types, kind.capitalize())):
                bounds[kind] = getattr(item, kind)
    if "le" not in bounds:
        return None
    if "ge" in bounds:
        return f"{_shown(bounds['ge'])} to {_shown(bounds['le'])}"
    return f"more than {_shown(bounds['gt'])}, at most {_shown(bounds['le'])}"


def _says(text: str, bounds: str) -> bool:
    """Whether the text gives the range as it is, not within a longer number ("10 to 6000")."""
    return re.search(rf"(?<![\w.]){re.escape(bounds)}(?![\w])", text) is not None


def _default(name: str) -> str | None:
    """A setting's default as the documents show it; None for a setting left unset."""
    value = Settings.model_fields[name.lower()].default
    return None if value in (None, "") else _shown(value)


def _readme_settings() -> dict[str, tuple[str, str]]:
    """README's table of settings: each name, with its default and its meaning."""
    text = README.read_text().split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in text.splitlines():
        found = re.fullmatch(r"\| `([A-Z_]+)` \| (.+?) \| (.+) \|", line)
        if found:
            rows[found[1]] = (found[2], found[3])
    return rows


def test_readmes_table_has_every_setting_and_no_other() -> None:
    assert sorted(_readme_settings()) == sorted(setting_names())


@pytest.mark.parametrize("name", setting_names())
def test_readme_gives_each_settings_default_and_range(name: str) -> None:
    default, meaning = _readme_settings()[name]
    expected = _default(name)
    if expected is None:
        assert default in ("unset", "(required)"), name
    else:
        assert default == f"`{expected}`", name
    bounds = _range(name)
    if bounds is not None:
        assert _says(meaning, bounds), (name, bounds)


def _env_example() -> dict[str, tuple[str, str]]:
    """Each setting of `.env.example`: its value, and the comments just above it (shared by the
    settings that follow them together)."""
    found: dict[str, tuple[str, str]] = {}
    comments: list[str] = []
    after_setting = False
    for line in ENV_EXAMPLE.read_text().splitlines():
        if not line.strip() or (line.startswith("#") and after_setting):
            comments, after_setting = [], False
        if line.startswith("#"):
            comments.append(line.lstrip("# "))
        elif line.strip():
            name, _, value = line.partition("=")
            found[name] = (value, " ".join(comments))
            after_setting = True
    return found


def test_env_example_has_every_setting_and_no_other() -> None:
    assert sorted(_env_example()) == sorted(setting_names())


@pytest.mark.parametrize("name", setting_names())
def test_env_example_gives_each_settings_default_and_range(name: str) -> None:
    value, comments = _env_example()[name]
    assert value == (_default(name) or ""), name
    bounds = _range(name)
    if bounds is not None:
        assert _says(comments, bounds), (name, bounds)
