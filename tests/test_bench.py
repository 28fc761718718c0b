"""The crawl benchmark still runs end to end, so that it cannot rot between the times it is used."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL

BENCH = Path(__file__).resolve().parents[1] / "bench" / "crawl.py"


def test_crawl_benchmark_measures_every_scenario(tmp_path: Path) -> None:
    figures_file = tmp_path / "figures.json"
    command = [sys.executable, str(BENCH), "--sizes", "20", "--rounds", "1", "--no-urlwatch"]
    command += ["--server", "python", "--json", str(figures_file)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "warning" not in run.stdout, run.stdout  # every run did what its scenario says

    report = json.loads(figures_file.read_text())
    assert report["server"] == "python"
    assert report["server_ceiling_pages_per_s"] > 0
    figures = {(f["tool"], f["scenario"]): f for f in report["figures"]}
    expected = {
        ("policywatch", "first"): {"first": 20, "http-200": 20},
        ("policywatch", "unchanged"): {"not-modified": 20, "http-304": 20},
        ("policywatch", "changed"): {"changed": 2, "not-modified": 18, "http-200": 4},  # 2 twice
        ("policywatch", "unchanged-no-cond"): {"unchanged": 20, "http-200": 20},
        ("floor", "get"): {"200": 20},
        ("floor", "conditional"): {"304": 20},
        ("scrapy", "get"): {"200": 20},
        ("scrapy", "conditional"): {"304": 20},
        ("scrapy-core", "get"): {"200": 20},
        ("scrapy-core", "conditional"): {"304": 20},
    }
    assert set(figures) == set(expected)
    for key, outcomes in expected.items():
        figure = figures[key]
        assert figure["outcomes"].items() >= outcomes.items(), (key, figure["outcomes"])
        assert figure["wall"] > 0 and figure["cpu"] > 0 and figure["rss_mb"] > 0, figure
        assert figure["pages_per_s"] == 20 / figure["wall"]
    assert figures[("policywatch", "first")]["store_mb"] > 0


def test_catalog_load_benchmark_runs() -> None:
    script = BENCH.with_name("catalog_load.py")
    command = [sys.executable, str(script), "--sizes", "60,120", "--runs", "1"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    rows = [line for line in run.stdout.splitlines() if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows] == ["60", "120"], run.stdout


def test_timeline_notify_and_diff_benchmarks_run() -> None:
    """They build their own inputs from the store's schema or the corpus: a schema change broke
    the timeline's (a new NOT NULL column) without anyone noticing."""
    timeline = [sys.executable, str(BENCH.with_name("timeline.py")), "--changes", "120"]
    run = subprocess.run([*timeline, "--runs", "1"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "120 changes, 60 documents" in run.stdout and "JSON API" in run.stdout, run.stdout
    notify = [sys.executable, str(BENCH.with_name("notify.py")), "--sizes", "1000", "--runs", "1"]
    run = subprocess.run([*notify, "--subscriptions", "2"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "2 subscriptions     1,000 sent alerts" in run.stdout, run.stdout
    diff = subprocess.run(
        [sys.executable, str(BENCH.with_name("diff_speed.py"))],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert diff.returncode == 0, diff.stderr
    assert "change page diff" in diff.stdout or "corpus not found" in diff.stdout, diff.stdout


def test_the_crawl_benchmark_gives_the_ratio_to_urlwatch_of_each_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(BENCH.parent))
    crawl = importlib.import_module("crawl")

    def figure(tool: str, scenario: str, walls: list[float]) -> object:
        return crawl.Figure(1000, tool, scenario, sorted(walls)[1], 0, 0, 0, 0, {}, walls)

    figures = [
        figure("policywatch", "first", [6.0, 6.5, 5.0]),
        figure("urlwatch", "first", [12.0, 13.0, 12.5]),
        figure("policywatch", "unchanged", [1.5, 2.0, 1.0]),
        figure("urlwatch", "unchanged", [3.0, 2.0, 2.0]),
        figure("scrapy", "get", [1.0, 1.0, 1.0]),
    ]
    assert crawl.by_round(figures, 1000) == (
        "÷ urlwatch, round by round: first 0.50 0.50 0.40; unchanged 0.50 1.00 0.50"
    )


@pytest.mark.redis
@pytest.mark.postgres
def test_workers_benchmark_compares_every_setup(tmp_path: Path, redis_url: str) -> None:
    runs_file = tmp_path / "runs.json"
    command = [sys.executable, str(BENCH.with_name("workers.py")), "--sizes", "12"]
    command += ["--workers", "2", "--rounds", "1", "--server", "python", "--redis", redis_url]
    command += ["--pg", PG_ADMIN_URL, "--json", str(runs_file)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr + run.stdout

    rows = json.loads(runs_file.read_text())["runs"]["12"]
    seen = {(row["workers"], row["scenario"]): row for row in rows}
    assert set(seen) == {(0, "first"), (0, "unchanged"), (2, "first"), (2, "unchanged")}
    for (_, scenario), row in seen.items():
        outcome = "first" if scenario == "first" else "not-modified"
        assert row[outcome] == 12 and row["wall"] > 0, row
    assert "2 workers" in run.stdout
