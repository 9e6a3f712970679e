"""The ledger of Pika's ids: written before the database, read at start-up, emptied once stored."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.jobs import ledger
from bot.jobs.ledger import Accepted, Ledger


def test_entries_survive_a_new_ledger_and_a_torn_last_line(tmp_path: Path) -> None:
    first = Ledger(tmp_path / "accepted.jsonl")
    assert first.write(Accepted("job1", "pika1", 1.0))
    assert first.write(Accepted("job2", None, 2.0))  # an upscale has no Pika id
    with (tmp_path / "accepted.jsonl").open("a") as out:
        out.write('{"job": "job3", "pi')  # the crash cut the last line
    again = Ledger(tmp_path / "accepted.jsonl")
    assert again.entries() == [Accepted("job1", "pika1", 1.0), Accepted("job2", None, 2.0)]


def test_a_damaged_line_of_bytes_that_are_not_text_hides_no_other_entry(tmp_path: Path) -> None:
    book = Ledger(tmp_path / "accepted.jsonl")
    book.write(Accepted("job1", "pika1", 1.0))
    with book.path.open("ab") as out:
        out.write(b"\xff\xfe\x00\x9c garbage from a damaged disk\n")
    book.write(Accepted("job2", "pika2", 2.0))
    assert book.entries() == [Accepted("job1", "pika1", 1.0), Accepted("job2", "pika2", 2.0)]
    assert Ledger(tmp_path / "other.jsonl", "accepted").find("job2") == Accepted(
        "job2", "pika2", 2.0
    )


def test_an_entry_cut_short_by_a_full_disk_is_refused_and_spoils_no_later_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = Ledger(tmp_path / "accepted.jsonl")
    real_write = os.write

    def disk_full(fd: int, data: bytes) -> int:
        return real_write(fd, data[:12])  # the disk filled after 12 bytes: a short write

    monkeypatch.setattr(os, "write", disk_full)
    assert not book.write(Accepted("job1", "pika1", 1.0))  # not written whole: not written
    monkeypatch.setattr(os, "write", real_write)  # room again
    assert book.write(Accepted("job2", "pika2", 2.0))
    assert book.find("job2") == Accepted("job2", "pika2", 2.0)
    assert book.entries() == [Accepted("job2", "pika2", 2.0)]


def test_each_process_writes_its_own_ledger_and_finds_entries_in_the_others(
    tmp_path: Path,
) -> None:
    base = tmp_path / "bot-accepted.jsonl"  # Settings.ledger_path
    first, second = Ledger.of_process(base, "aaaa"), Ledger.of_process(base, "bbbb")
    first.write(Accepted("job1", "pika1", 1.0))
    second.write(Accepted("job2", "pika2", 2.0))
    assert first.path != second.path and first.entries() == [Accepted("job1", "pika1", 1.0)]
    assert second.find("job1") == Accepted("job1", "pika1", 1.0)  # the other's, found
    assert second.others() == [first.path] and second.owner_of(first.path) == "aaaa"
    (tmp_path / "bot-accepted.jsonl").write_text('{"job": "job3", "pika": "p3", "at": 3}\n')
    assert first.find("job3") == Accepted("job3", "p3", 3.0)  # an older bot's, unnamed
    assert first.owner_of(tmp_path / "bot-accepted.jsonl") == ""
    assert first.find("job4") is None


def test_the_file_keeps_what_is_not_stored_and_is_emptied_once_every_entry_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger, "COMPACT_BYTES", 1)  # any size is big enough here
    book = Ledger(tmp_path / "accepted.jsonl")
    book.write(Accepted("job1", "pika1", 1.0))
    book.write(Accepted("job2", "pika2", 2.0))
    book.stored("job1")
    assert book.entries() == [Accepted("job2", "pika2", 2.0)]  # not in the database yet: kept
    book.stored("job2")
    assert book.entries() == []


def test_under_constant_load_the_file_keeps_only_the_entries_still_needed(tmp_path: Path) -> None:
    book = Ledger(tmp_path / "accepted.jsonl")
    book.write(Accepted("slow", "pika-slow", 0.0))  # its database write keeps failing
    for n in range(5000):  # paid calls all day, never all of them stored at once
        book.write(Accepted(f"job{n}", f"pika{n}", float(n)))
        book.stored(f"job{n - 1}")
    assert book.path.stat().st_size < 2 * ledger.COMPACT_BYTES  # 5,000 lines are ~300 KB
    assert book.find("slow") == Accepted("slow", "pika-slow", 0.0)
    assert book.find("job4999") == Accepted("job4999", "pika4999", 4999.0)
    assert book.find("job100") is None  # stored long ago
    assert [p.name for p in tmp_path.iterdir()] == ["accepted.jsonl"]  # no partial file left


def test_a_ledger_that_cannot_be_written_says_so(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where a folder should be")
    assert not Ledger(tmp_path / "blocked" / "accepted.jsonl").write(Accepted("j", "p", 1.0))


def test_the_ledger_makes_its_folder_when_it_is_missing_also_after_a_first_entry(
    tmp_path: Path,
) -> None:
    book = Ledger(tmp_path / "data" / "accepted.jsonl")
    assert book.write(Accepted("job1", "pika1", 1.0))
    (tmp_path / "data" / "accepted.jsonl").unlink()
    (tmp_path / "data").rmdir()  # an operator tidied the data folder away
    assert book.write(Accepted("job2", "pika2", 2.0))
    assert book.entries() == [Accepted("job2", "pika2", 2.0)]


def test_the_folder_made_for_the_ledger_is_its_owners_alone(tmp_path: Path) -> None:
    book = Ledger(tmp_path / "data" / "accepted.jsonl")
    assert book.write(Accepted("job1", "pika1", 1.0))
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE(book.path.stat().st_mode) == 0o600
