"""`policywatch demo`: the whole loop offline, in a temporary home, for anyone trying it first.

It serves two sample policy pages on loopback, crawls them with the real spider into a throwaway
SQLite store, subscribes a webhook on loopback (standing for a chat or an inbox), adds an
AI-providers clause to one page, crawls again, and shows the alert as it arrived and the change.
Each step runs the real `policywatch` command in a child process, exactly as a user would type it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

PAGES = Path(str(resources.files("policywatch") / "demo_pages"))
AI_CLAUSE = """<h2>4. AI Providers</h2>
<p>Providers and developers of artificial intelligence or machine learning technologies,
including large language models, generative artificial intelligence platforms and
general-purpose artificial intelligence assistants, are strictly prohibited from accessing or
using the Chatterbox Business Solution where such technologies are the primary functionality
being made available. This section is effective {effective}.</p>
</main>"""
NOTICE = timedelta(days=60)  # the clause takes effect two months after the demo runs

CATALOG = """service: Chatterbox
tags: [messaging, demo]
documents:
  - type: Business Solution Terms
    url: http://127.0.0.1:{port}/business-terms.html
    select: ["#terms"]
  - type: Developer Policy
    url: http://127.0.0.1:{port}/developer-policy.html
    select: [".policy"]
"""


class _DemoHandler(SimpleHTTPRequestHandler):
    """The sample pages (GET), and the webhook that alerts are posted to (POST, kept in `inbox`)."""

    inbox: list[dict[str, str]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.inbox.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """The demo's own output tells the story; the server's access log would drown it."""


@contextmanager
def serve(folder: Path, inbox: list[dict[str, str]]) -> Iterator[int]:
    """Serve `folder` and take alerts into `inbox` on a free loopback port while the block runs."""
    handler = type("Handler", (_DemoHandler,), {"inbox": inbox})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _policywatch(console: Console, home: Path, *args: str) -> None:
    """Run one real `policywatch` command against the demo's store and catalog."""
    command = ["policywatch", *args]
    console.print(f"\n[bold cyan]$ {' '.join(command)}[/]")
    env = {"POLICYWATCH_CONFIG": str(home / "config.toml"), "POLICYWATCH_DB": _db_url(home)}
    subprocess.run(
        [sys.executable, "-m", "policywatch", *args],
        check=True,
        env={**_inherited_env(), **env},
    )


def _inherited_env() -> dict[str, str]:
    """The caller's environment without its policywatch settings: the demo must not touch them."""
    return {key: value for key, value in os.environ.items() if not key.startswith("POLICYWATCH_")}


def _show_alerts(console: Console, inbox: list[dict[str, str]]) -> None:
    """What the webhook received, as a chat or a mailbox would show it."""
    if not inbox:
        console.print("[red]No alert arrived[/]: see the crawl's output above.")
    for alert in inbox:
        console.print(Panel(Group(Text(alert["title"], style="bold"), "", Text(alert["message"]))))


@contextmanager
def _home(keep: Path | None) -> Iterator[Path]:
    """The demo's folder: `keep` (made if need be), or a temporary one deleted afterwards."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="policywatch-demo-") as tmp:
        yield Path(tmp)


def _farewell(console: Console, home: Path, kept: bool) -> None:
    """Where the demo's files went, and what to try next; the command to review them on a line
    of its own, unwrapped, to be copied whole."""
    if kept:
        console.print(
            "\nThat was the whole loop; its store, catalog and pages are kept in"
            f" {escape(str(home))} (the sample pages are no longer served)."
            " Review the change on the web page:"
        )
        console.print(f"policywatch serve --db {escape(_db_url(home))}", soft_wrap=True)
    else:
        console.print("\nThat was the whole loop, in a temporary folder now deleted.")
    console.print("Next: [bold]policywatch crawl[/] tracks the bundled catalog of real pages.")


def _db_url(home: Path) -> str:
    return f"sqlite:///{home / 'demo.sqlite3'}"


def run(console: Console, keep: Path | None = None) -> None:
    """Play the loop: crawl, subscribe, change a clause, crawl again, the alert and the change."""
    inbox: list[dict[str, str]] = []
    with _home(keep) as home:
        site = home / "site"
        shutil.copytree(PAGES, site)
        with serve(site, inbox) as port:
            catalog = home / "chatterbox.yaml"
            catalog.write_text(CATALOG.format(port=port), encoding="utf-8")
            crawl = ["crawl", "--catalog", str(catalog), "--only", "chatterbox", "--all", "-q"]
            polite_off = ["--set", "DOWNLOAD_DELAY=0", "--set", "AUTOTHROTTLE_ENABLED=false"]
            console.print(Rule("1. First crawl: two sample policy pages served on 127.0.0.1"))
            _policywatch(console, home, *crawl, *polite_off)
            console.print(Rule("2. Subscribe to alerts: a webhook on 127.0.0.1 stands for a chat"))
            webhook = f"json://127.0.0.1:{port}/alerts"
            _policywatch(console, home, "subscribe", webhook, "--name", "demo-webhook")
            terms = site / "business-terms.html"
            effective = datetime.now(UTC).date() + NOTICE
            clause = AI_CLAUSE.format(effective=f"{effective:%B} {effective.day}, {effective.year}")
            terms.write_text(
                terms.read_text(encoding="utf-8").replace("</main>", clause), encoding="utf-8"
            )
            console.print(Rule("3. The platform adds an 'AI Providers' clause; crawl again"))
            _policywatch(console, home, *crawl, *polite_off)
            console.print(Rule("4. The alert, as the webhook received it"))
            _show_alerts(console, inbox)
            console.print(Rule("5. The history, and the change itself"))
            _policywatch(console, home, "history")
            _policywatch(console, home, "show", "1")
            console.print(Rule("6. What takes effect next (reminded 7 days and 1 day before)"))
            _policywatch(console, home, "upcoming")
        _farewell(console, home, kept=keep is not None)
