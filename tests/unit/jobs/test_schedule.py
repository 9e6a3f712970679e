"""Due times in a heap: earliest first, a new time replaces the old, forgotten jobs never come."""

from __future__ import annotations

from bot.jobs.schedule import Schedule


def test_jobs_come_due_in_time_order_and_a_new_time_replaces_the_old() -> None:
    schedule = Schedule()
    schedule.at("a", 5.0)
    schedule.at("b", 1.0)
    schedule.at("c", 3.0)
    schedule.at("a", 2.0)  # moved earlier
    schedule.cancel("c")
    assert schedule.next_at() == 1.0 and len(schedule) == 2
    assert schedule.pop_due(0.5) is None
    assert [schedule.pop_due(10.0), schedule.pop_due(10.0), schedule.pop_due(10.0)] == [
        "b",
        "a",
        None,
    ]
    assert "a" not in schedule and schedule.next_at() is None


def test_many_replaced_times_do_not_pile_up() -> None:
    schedule = Schedule()
    for n in range(10_000):
        schedule.at("one", float(n))
    assert len(schedule._heap) < 200 and schedule.when("one") == 9999.0
