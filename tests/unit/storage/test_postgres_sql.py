"""The stores' portable SQL as PostgreSQL's: parameters numbered, NULL-safe comparisons,
quoted text and casts untouched."""

from __future__ import annotations

import pytest

from bot.storage.postgres_sql import CACHED_CHARACTERS, _remembered, translate


def test_positional_parameters_are_numbered_in_order() -> None:
    statement = translate("UPDATE jobs SET a = ?, b = ? WHERE id = ? AND status IN (?, ?)")
    assert statement.sql == "UPDATE jobs SET a = $1, b = $2 WHERE id = $3 AND status IN ($4, $5)"
    assert statement.arguments([1, "x", "id", "running", "sending"]) == [
        1,
        "x",
        "id",
        "running",
        "sending",
    ]


def test_a_named_parameter_used_twice_is_one_parameter() -> None:
    statement = translate("SELECT :a WHERE x < :b AND y = :a")
    assert statement.sql == "SELECT $1 WHERE x < $2 AND y = $1"
    assert statement.arguments({"b": 2, "a": 1, "unused": 3}) == [1, 2]


def test_is_a_parameter_compares_null_as_equal() -> None:
    assert translate("WHERE guild_id IS ? AND x is  not ?").sql == (
        "WHERE guild_id IS NOT DISTINCT FROM $1 AND x IS DISTINCT FROM $2"
    )
    assert translate("WHERE a IS NULL AND b = ?").sql == "WHERE a IS NULL AND b = $1"
    assert translate("WHERE this = ?").sql == "WHERE this = $1"  # a word ending in "is"
    assert translate("SELECT :a WHERE x IS :a").sql == "SELECT $1 WHERE x IS NOT DISTINCT FROM $1"


def test_quoted_text_and_casts_are_left_alone() -> None:
    statement = translate("SELECT 'a ? :b', \"odd?name\", x::text, 'it''s ?' FROM t WHERE y = ?")
    assert statement.sql == "SELECT 'a ? :b', \"odd?name\", x::text, 'it''s ?' FROM t WHERE y = $1"
    assert statement.count == 1


def test_a_bool_is_sent_as_the_integer_its_column_holds() -> None:
    assert translate("UPDATE jobs SET active = ?").arguments([False]) == [0]


def test_mistakes_are_refused_rather_than_sent() -> None:
    with pytest.raises(ValueError, match="both"):
        translate("SELECT ? WHERE a = :b")
    with pytest.raises(ValueError, match="2 parameters expected, 1 given"):
        translate("SELECT ?, ?").arguments([1])
    with pytest.raises(TypeError):
        translate("SELECT :a").arguments([1])


def test_a_long_batch_is_translated_whole_and_not_kept() -> None:
    rows = ", ".join("(?, ?)" for _ in range(15_000))  # 30,000 parameters, as update_many sends
    sql = f"UPDATE jobs SET a = v.column2 FROM (VALUES {rows}) AS v WHERE jobs.id = v.column1"  # noqa: S608
    assert len(sql) > CACHED_CHARACTERS
    kept = _remembered.cache_info().currsize
    statement = translate(sql)
    assert _remembered.cache_info().currsize == kept  # batches differ: memory for none of them
    assert statement.count == 30_000 and statement.sql.endswith(
        "($29999, $30000)) AS v WHERE jobs.id = v.column1"
    )
