"""The fork server `Home.run` uses for commands that do not crawl answers as a fresh process does:
same exit code, stdout, stderr, terminal width, working directory and environment."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from tests.conftest import BASE_ENV, FAST, Home, Result, _fork_server, forkable, spawn
from tests.forkserver import ForkServer

COMMANDS = [
    ("--help",),  # a rich panel, as wide as COLUMNS
    ("history", "--no-such-option"),  # a usage error: exit 2, on stderr
    ("documents", "--json"),
    ("show", "999"),  # an error of the command's own
    ("catalog", "validate", "relative.yaml"),  # read from the command's working directory
    ("subscribe", "json://127.0.0.1:1/hook", "--name", "ops"),  # Apprise, preloaded
    ("crawl", "--catalog", "refused.yaml", "--only", "x", *FAST),  # Scrapy, a reactor anew
]


@pytest.mark.parametrize(("args", "columns"), [(COMMANDS[0], 60)] + [(a, 200) for a in COMMANDS])
def test_a_forked_command_answers_as_a_spawned_one(
    tmp_path: Path, args: tuple[str, ...], columns: int
) -> None:
    """Two homes alike but for their folder: one forked, one spawned; their paths aside, the
    answers must be the same."""
    homes = [Home(tmp_path / name, f"sqlite:///{tmp_path / name}.db") for name in "ab"]
    for home in homes:
        home.path.mkdir()
        (home.path / "relative.yaml").write_text("service: X\ndocuments: [{type: T, url: x}]\n")
        refused = "service: X\ndocuments: [{type: T, url: 'http://127.0.0.1:1/t'}]\n"
        (home.path / "refused.yaml").write_text(refused)
    env = {**homes[0].env(), "COLUMNS": str(columns)}
    assert forkable(args, env), args
    forked = Result(*_fork_server().run([*args], env, str(homes[0].path), 120))
    expected = spawn(args, {**homes[1].env(), "COLUMNS": str(columns)}, homes[1].path)
    here, there = str(homes[0].path), str(homes[1].path)
    assert forked == Result(
        expected.code, expected.stdout.replace(there, here), expected.stderr.replace(there, here)
    ), args


def test_what_the_fork_server_cannot_stand_in_for_is_spawned(home: Home) -> None:
    assert not forkable(("worker", "--redis", "redis://127.0.0.1"), home.env())
    assert not forkable(("serve",), home.env())
    assert not forkable(("documents",), {**home.env(), "PYTHONPATH": "/elsewhere"})
    assert forkable(("documents",), {**home.env(), "POLICYWATCH_DB": "sqlite://"})


class Interrupted(Exception):
    """Raised by a timer in the middle of a run, as pytest-timeout's signal method raises."""


@pytest.fixture
def server() -> Iterator[ForkServer]:
    started = ForkServer(BASE_ENV)
    yield started
    started.close()


def test_a_run_interrupted_midway_leaves_the_server_in_step(
    server: ForkServer, tmp_path: Path
) -> None:
    """A test that timed out under load was interrupted while the server still owed its command's
    exit code: every later command of that test process then read the code as its pid, and its
    own pid as its exit code (36 tests failed with `assert 17515 == 2`)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Interrupted

    server.run(["--version"], BASE_ENV, str(tmp_path), timeout=60)  # started: preloaded
    silent = socket.create_server(("127.0.0.1", 0))  # takes connections, never answers
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/terms"
    (tmp_path / "silent.yaml").write_text(f"service: X\ndocuments: [{{type: T, url: '{url}'}}]\n")
    store = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    waiting = ["crawl", "--db", store, "--catalog", "silent.yaml", "--only", "x", *FAST]
    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 2)
    try:
        with pytest.raises(Interrupted):
            server.run(waiting, BASE_ENV, str(tmp_path), timeout=60)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        silent.close()

    code, stdout, _ = server.run(["--version"], BASE_ENV, str(tmp_path), timeout=60)
    assert code == 0 and stdout.startswith("policywatch")
    code, _, stderr = server.run(["no-such-command"], BASE_ENV, str(tmp_path), timeout=60)
    assert code == 2 and "no-such-command" in stderr
