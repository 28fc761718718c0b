"""`python -m policywatch COMMAND` for the tests, without paying Python's imports each time.

A test run spawns the real command some five hundred times to read its output (`documents`,
`history`, `subscribe`, `crawl`...): each child spent most of its second importing SQLAlchemy,
pydantic, typer, rich, Apprise and Scrapy. This server imports those third-party libraries
once, then forks a child per command, which runs `policywatch` as `python -m` does (`runpy`,
its own argv, cwd, environment, stdin, stdout and stderr) and exits through the interpreter's
own exit, so exit codes, tracebacks and atexit handlers are a real process's. Policywatch's own
modules are never imported by the server: each child imports them anew, reading its
environment (a console's `COLUMNS`) as a fresh process does. Nor is a Twisted reactor installed
in the server (`twisted.internet.reactor` is never imported there): each crawl installs its
own. `Home.run` uses it for every command but a worker or the web server, which the tests
signal, in an environment equal to the server's but for POLICYWATCH_* and COLUMNS, which no
library reads on import (anything else, a PYTHONPATH, a proxy: a real subprocess).

Run as a script, it is the server: `python forkserver.py FD`, FD a socket of a socketpair.
"""

from __future__ import annotations

import contextlib
import json
import locale
import os
import runpy
import selectors
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

OWN = ("policywatch", "store", "notifier", "crawlers", "diffengine")
# What the commands import: their libraries are what the server imports (Apprise's plugins,
# which `subscribe`, `notify` and `subscriptions test` load, and Scrapy, Twisted and Playwright,
# which a crawl loads), all but the module whose import installs a reactor.
PROBE = f"""
import sys, policywatch.cli, apprise
import crawlers.runner, crawlers.spiders.policy, crawlers.pipelines, crawlers.browser
apprise.Apprise().add("json://localhost")
assert "twisted.internet.reactor" not in sys.modules
print("\\n".join(name for name in sys.modules if name.split(".")[0] not in {OWN!r}))
"""
MAX_REQUEST = 1 << 20


@dataclass
class Request:
    args: list[str]
    env: dict[str, str]
    cwd: str


def preload() -> None:
    """Import every library module the command imports, never policywatch's own."""
    names = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout.split()
    for name in names:
        try:
            __import__(name)
        except Exception:  # a private alias, or one importable only as its package's side effect
            continue


def serve(channel: socket.socket) -> Request | None:
    """Answer requests until the tests close the channel; in a forked child, its request."""
    while True:
        message, fds, _, _ = socket.recv_fds(channel, MAX_REQUEST, 3)
        if not message:
            return None
        request = Request(**json.loads(message))
        pid = os.fork()
        if pid == 0:
            channel.close()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            return request
        for fd in fds:
            os.close(fd)
        channel.sendall(f"{pid}\n".encode())
        _, status = os.waitpid(pid, 0)
        channel.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())


def become(request: Request) -> None:
    """Turn this forked child into `python -m policywatch ARGS` started in `cwd` with `env`."""
    os.chdir(request.cwd)
    os.environ.clear()
    os.environ.update(request.env)
    sys.path[0] = request.cwd  # as `python -m` puts it first
    sys.argv = ["-m", *request.args]  # runpy sets argv[0] to the module's file, as -m does
    runpy.run_module("policywatch", run_name="__main__", alter_sys=True)


class ForkServer:
    """The tests' side: one server per test process, started on first use."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=env,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.channel = ours
        self.replies = ours.makefile("r")

    def run(
        self, args: list[str], env: dict[str, str], cwd: str, timeout: float
    ) -> tuple[int, str, str]:
        """Run the command as `subprocess.run(..., capture_output=True, text=True)` would."""
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        message = json.dumps({"args": args, "env": env, "cwd": cwd}).encode()
        socket.send_fds(self.channel, [message], [0, out_write, err_write])
        os.close(out_write)
        os.close(err_write)
        pid: int | None = None
        try:
            pid = int(self.replies.readline())
            stdout, stderr = read_all(out_read, err_read, time.monotonic() + timeout)
            code = int(self.replies.readline())
        except subprocess.TimeoutExpired:
            self._abandon(pid)
            raise subprocess.TimeoutExpired(args, timeout) from None
        except BaseException:
            # Interrupted (pytest-timeout's signal, Ctrl-C) while the server still owed the
            # child's pid or exit code: read later, the code was taken for the next command's
            # pid, and that command's exit code was its pid (every later test of the process
            # failed so).
            self._abandon(pid)
            raise
        return code, decode(stdout), decode(stderr)

    def _abandon(self, pid: int | None) -> None:
        """Kill the child of a run given up (`pid`, or the one the server is about to name),
        and read the exit code the server sends for it: the channel is then in step again."""
        if pid is None:
            pid = int(self.replies.readline())
        with contextlib.suppress(ProcessLookupError):  # ended on its own: its code comes anyway
            os.kill(pid, 9)
        self.replies.readline()

    def close(self) -> None:
        self.replies.close()
        self.channel.close()
        self.process.wait(timeout=10)


def read_all(out: int, err: int, deadline: float) -> tuple[bytes, bytes]:
    """Both pipes to their end, as `communicate` reads them."""
    chunks: dict[int, list[bytes]] = {out: [], err: []}
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        try:
            while selector.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired("policywatch", 0)
                for key, _ in selector.select(left):
                    data = os.read(key.fd, 65536)
                    if data:
                        chunks[key.fd].append(data)
                    else:
                        selector.unregister(key.fd)
        finally:
            os.close(out)
            os.close(err)
    return b"".join(chunks[out]), b"".join(chunks[err])


def decode(data: bytes) -> str:
    """As `subprocess` decodes a text-mode pipe: the locale's encoding, universal newlines."""
    text = data.decode(locale.getpreferredencoding(False))
    return text.replace("\r\n", "\n").replace("\r", "\n")


if __name__ == "__main__":
    preload()
    request = serve(socket.socket(fileno=int(sys.argv[1])))
    if request is not None:
        become(request)
