"""Draw the Grafana dashboard (docs/grafana/pika-bot.json) from a real run, for the README.

Grafana cannot run here, so this draws each panel of the dashboard itself, from scrapes of the
real bot's /metrics: it starts the fake Discord, the local Pika and `python -m bot` (the test
suite's harness), lets members ask for videos for a while (some of which Pika fails, and some
of whose answers Discord rate-limits), scrapes /metrics every two seconds, then evaluates each
panel's PromQL (the subset the dashboard uses: selectors, rate, sum by, histogram_quantile, a
constant factor) over the scrapes and plots it.

    .venv/bin/python -m tools.dashboard_picture [--seconds 120] [--out docs/grafana/dashboard.png]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import matplotlib as mpl

mpl.use("Agg")
import itertools

import matplotlib.pyplot as plt
from matplotlib.gridspec import GridSpec
from prometheus_client.parser import text_string_to_metric_families

from bot.pika.local.app import running_local_pika
from tests.e2e.harness import BotProcess, bot_env
from tests.fake_discord import running_fake_discord
from tests.fake_discord.world import ADMIN, GENERAL
from tests.helpers.local_pika import behave

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "docs" / "grafana" / "pika-bot.json"
Labels = frozenset[tuple[str, str]]
Vector = dict[Labels, float]


@dataclass(frozen=True)
class Scrape:
    """One scrape of /metrics: when, and every sample."""

    at: float
    samples: list[tuple[str, dict[str, str], float]]


# --- a real run ------------------------------------------------------------------------------


async def record(seconds: float) -> list[Scrape]:
    """Run the bot under a steady trickle of requests; scrape /metrics every two seconds."""
    scrapes: list[Scrape] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        async with (
            running_fake_discord(heartbeat_ms=5000) as fake,
            running_local_pika(job_seconds=6, api_key="picture-key") as pika,
        ):
            env = bot_env(fake, work, PIKA_API_KEY=pika.api_key, PIKA_BASE_URL=pika.base_url)
            bot = BotProcess(env, work)
            await bot.start()
            try:
                await bot.wait_ready()
                base = await bot.http_url()
                limits = {"running": 50, "daily_member": 100_000}
                await fake.wait_for_response(
                    fake.slash(ADMIN, GENERAL, "pika-admin", "limits", limits)
                )
                started = time.monotonic()
                asked = 0
                async with httpx.AsyncClient(timeout=10) as http:
                    while (elapsed := time.monotonic() - started) < seconds:
                        if asked % 7 == 3:
                            await behave(pika, fail_jobs=1)
                        if asked % 5 == 2:
                            fake.rate_limit("POST", r"/interactions/.*/callback$", retry_after=0.5)
                        burst = 3 if elapsed % 40 < 10 else 1  # a busier spell now and then
                        for _ in range(burst):
                            fake.slash(ADMIN, GENERAL, "pika", "generate", {"prompt": "fox"})
                            asked += 1
                        await http.get(f"{base}/readyz")  # also sets pika_bot_up
                        text = (await http.get(f"{base}/metrics")).text
                        scrapes.append(Scrape(elapsed, list(_samples(text))))
                        await asyncio.sleep(2.0)
            finally:
                await bot.stop()
    return scrapes


def _samples(text: str) -> Iterator[tuple[str, dict[str, str], float]]:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            yield sample.name, dict(sample.labels), float(sample.value)


# --- the PromQL the dashboard uses -----------------------------------------------------------

TOKEN = re.compile(r'\s*(\d+\.?\d*|[A-Za-z_:][\w:]*|"[^"]*"|!=|=~|[(){}\[\],*=])')


class Query:
    """A PromQL expression of the dashboard's subset, evaluated over scrapes."""

    def __init__(self, text: str, scrapes: list[Scrape]) -> None:
        self.tokens = [t for t in TOKEN.findall(text) if t]
        self.pos = 0
        self.scrapes = scrapes
        self.tree = self._expr()
        if self.pos != len(self.tokens):
            raise ValueError(f"cannot read {text!r} past {self.tokens[self.pos :]}")

    # parsing: each node is a tuple, evaluated by `at`
    def _peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def _take(self, wanted: str | None = None) -> str:
        token = self._peek()
        if wanted is not None and token != wanted:
            raise ValueError(f"expected {wanted!r}, found {token!r}")
        self.pos += 1
        return token

    def _expr(self) -> tuple[Any, ...]:
        node = self._term()
        if self._peek() == "*":
            self._take()
            node = ("scale", node, float(self._take()))
        return node

    def _term(self) -> tuple[Any, ...]:
        word = self._take()
        if word == "histogram_quantile":
            self._take("(")
            q = float(self._take())
            self._take(",")
            inner = self._expr()
            self._take(")")
            return ("quantile", q, inner)
        if word == "rate":
            self._take("(")
            selector = self._selector(self._take())
            self._take("[")
            window = self._take()
            unit = self._take()
            self._take("]")
            self._take(")")
            seconds = float(window) * {"s": 1, "m": 60, "h": 3600}[unit]
            return ("rate", selector, seconds)
        if word == "sum":
            by: tuple[str, ...] = ()
            if self._peek() == "by":
                self._take()
                self._take("(")
                names = []
                while self._peek() != ")":
                    names.append(self._take())
                    if self._peek() == ",":
                        self._take()
                self._take(")")
                by = tuple(names)
            self._take("(")
            inner = self._expr()
            self._take(")")
            return ("sum", by, inner)
        return ("select", self._selector(word))

    def _selector(self, name: str) -> tuple[str, tuple[tuple[str, str, str], ...]]:
        matchers = []
        if self._peek() == "{":
            self._take()
            while self._peek() != "}":
                label, op, value = self._take(), self._take(), self._take().strip('"')
                matchers.append((label, op, value))
                if self._peek() == ",":
                    self._take()
            self._take("}")
        return name, tuple(matchers)

    # evaluation
    def at(self, index: int) -> Vector:
        """The expression's value at the scrape of this index."""
        return self._eval(self.tree, index)

    def _eval(self, node: tuple[Any, ...], index: int) -> Vector:
        kind = node[0]
        if kind == "select":
            return self._series(node[1], index)
        if kind == "scale":
            return {k: v * node[2] for k, v in self._eval(node[1], index).items()}
        if kind == "rate":
            return self._rate(node[1], node[2], index)
        if kind == "sum":
            totals: dict[Labels, float] = defaultdict(float)
            for labels, value in self._eval(node[2], index).items():
                totals[frozenset((k, v) for k, v in labels if k in node[1])] += value
            return dict(totals)
        if kind == "quantile":
            return _quantiles(node[1], self._eval(node[2], index))
        raise ValueError(kind)

    def _series(self, selector: tuple[str, Any], index: int) -> Vector:
        name, matchers = selector
        found: Vector = {}
        for sample, labels, value in self.scrapes[index].samples:
            if sample == name and all(_matches(labels.get(k, ""), op, v) for k, op, v in matchers):
                found[frozenset(labels.items())] = value
        return found

    def _rate(self, selector: tuple[str, Any], window: float, index: int) -> Vector:
        now = self.scrapes[index].at
        points: dict[Labels, list[tuple[float, float]]] = defaultdict(list)
        for i in range(index + 1):
            if now - self.scrapes[i].at <= window:
                for labels, value in self._series(selector, i).items():
                    points[labels].append((self.scrapes[i].at, value))
        rates: Vector = {}
        for labels, series in points.items():
            if len(series) < 2:
                continue
            increase = sum(b - a if b >= a else b for (_, a), (_, b) in itertools.pairwise(series))
            rates[labels] = increase / (series[-1][0] - series[0][0])
        return rates


def _matches(value: str, op: str, wanted: str) -> bool:
    if op == "=":
        return value == wanted
    if op == "!=":
        return value != wanted
    return re.fullmatch(wanted, value) is not None


def _quantiles(q: float, buckets: Vector) -> Vector:
    """histogram_quantile over `le` buckets, by the other labels, as Prometheus interpolates."""
    groups: dict[Labels, list[tuple[float, float]]] = defaultdict(list)
    for labels, count in buckets.items():
        le = dict(labels).get("le")
        if le is not None:
            groups[frozenset((k, v) for k, v in labels if k != "le")].append((float(le), count))
    found: Vector = {}
    for labels, series in groups.items():
        series.sort()
        total = series[-1][1]
        if total <= 0:
            continue
        rank, lower, below = q * total, 0.0, 0.0
        for bound, count in series:
            if count >= rank:
                if math.isinf(bound):
                    found[labels] = lower
                else:
                    share = (rank - below) / (count - below) if count > below else 0.0
                    found[labels] = lower + (bound - lower) * share
                break
            lower, below = bound, count
    return found


# --- drawing ---------------------------------------------------------------------------------


def legend(template: str, labels: Labels) -> str:
    """Grafana's legend format: {{label}} replaced by the label's value."""
    values = dict(labels)
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values.get(m[1], ""), template).strip() or "value"


def render(dashboard: dict[str, Any], scrapes: list[Scrape], out: Path) -> None:
    """Every panel of the dashboard, placed on its grid, as a PNG."""
    plt.style.use("dark_background")
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard["panels"])
    figure = plt.figure(figsize=(18, rows * 0.62), facecolor="#111217")
    grid = GridSpec(rows, 24, figure=figure, hspace=1.6, wspace=0.9, top=0.95, bottom=0.03)
    times = [s.at for s in scrapes]
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        cell = grid[pos["y"] : pos["y"] + pos["h"], pos["x"] : pos["x"] + pos["w"]]
        axes = figure.add_subplot(cell, facecolor="#181b1f")
        axes.set_title(panel["title"], loc="left", fontsize=10, color="#ccccdc")
        unit = panel["fieldConfig"]["defaults"].get("unit", "")
        if panel["type"] == "stat":
            _stat(axes, panel, scrapes)
            continue
        for target in panel["targets"]:
            query = Query(target["expr"], scrapes)
            lines: dict[Labels, list[float]] = defaultdict(lambda: [math.nan] * len(scrapes))
            for i in range(len(scrapes)):
                for labels, value in query.at(i).items():
                    lines[labels][i] = value
            for labels, values in sorted(lines.items(), key=lambda kv: sorted(kv[0])):
                axes.plot(
                    times, values, linewidth=1.4, label=legend(target["legendFormat"], labels)
                )
        axes.tick_params(labelsize=7, colors="#9fa7b3")
        axes.set_xlabel("seconds into the run", fontsize=7, color="#9fa7b3")
        if unit:
            axes.set_ylabel(unit, fontsize=7, color="#9fa7b3")
        axes.grid(color="#2c3235", linewidth=0.6)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=6, loc="upper left", framealpha=0.3, ncols=2)
    figure.suptitle(
        f"{dashboard['title']}: the dashboard's panels drawn from {len(scrapes)} scrapes of a real "
        "run's /metrics (tools/dashboard_picture.py)",
        fontsize=11,
        color="#ccccdc",
    )
    figure.savefig(out, dpi=80, facecolor=figure.get_facecolor(), bbox_inches="tight")


def _stat(axes: Any, panel: dict[str, Any], scrapes: list[Scrape]) -> None:
    axes.set_axis_off()
    target = panel["targets"][0]
    last = Query(target["expr"], scrapes).at(len(scrapes) - 1)
    for i, (labels, value) in enumerate(sorted(last.items(), key=lambda kv: sorted(kv[0]))):
        colour = "#1a7f37" if value >= 1 else "#c4162a"
        x = (i + 0.5) / max(1, len(last))
        axes.text(
            x,
            0.45,
            f"{legend(target['legendFormat'], labels)}\n{'up' if value >= 1 else 'down'}",
            ha="center",
            va="center",
            fontsize=10,
            color="white",
            bbox={"facecolor": colour, "boxstyle": "round,pad=0.6"},
            transform=axes.transAxes,
        )


def main() -> None:
    """Record a run, then draw it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "grafana" / "dashboard.png")
    parser.add_argument("--scrapes", type=Path, help="keep the scrapes here as JSON")
    parser.add_argument("--redraw", type=Path, help="draw scrapes kept by --scrapes; no run")
    args = parser.parse_args()
    if args.redraw:
        kept = json.loads(args.redraw.read_text())
        scrapes = [
            Scrape(at, [(n, dict(labels), v) for n, labels, v in found]) for at, found in kept
        ]
    else:
        scrapes = asyncio.run(record(args.seconds))
    if args.scrapes:
        args.scrapes.write_text(json.dumps([[s.at, s.samples] for s in scrapes]))
    render(json.loads(DASHBOARD.read_text()), scrapes, args.out)
    print(f"{len(scrapes)} scrapes over {scrapes[-1].at:.0f} s drawn to {args.out}")


if __name__ == "__main__":
    main()
