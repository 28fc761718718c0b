"""The benchmark's website: N realistic policy pages on disk, edits to them, and their web server.

Pages are real policy texts (Open Terms Archive versions in `../shared/corpus/history`, ODbL/CC-BY)
rendered from Markdown to HTML inside the chrome of a real site (head scripts, navigation, cookie
banner, share widget, footer), so a crawler must select and clean as it would in production.
Without the corpus the text is generated. Pages are static files, served by nginx when the machine
has it, else by a threaded Python server; both answer conditional GETs (ETag, Last-Modified -> 304)
and can be told to stop doing so, which is the "without conditional GET" scenario.
"""

from __future__ import annotations

import email.utils
import itertools
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from markdown_it import MarkdownIt

from diffengine import normalize
from diffengine.language import detect_language

HISTORY = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "history"
SERVICE = "Benchsite"
SELECT = "#content"
REMOVE = ".share"
DAY = 86_400.0


def corpus_texts() -> Iterator[str]:
    """Every English corpus version, documents interleaved so that any prefix mixes services;
    forever. The catalog declares English, as the bundled one does: a French or Thai capture
    would rightly be refused as a page served in the wrong language."""
    folders = sorted(path for path in HISTORY.iterdir() if path.is_dir())
    versions = [sorted(folder.glob("*.md")) for folder in folders]
    order = [path for row in itertools.zip_longest(*versions) for path in row if path]
    texts = (path.read_text(encoding="utf-8") for path in order)
    return itertools.cycle(
        text for text in texts if detect_language(normalize(text)) in (None, "en")
    )


def generated_texts(seed: int = 7) -> Iterator[str]:
    """Policy-like Markdown of about 30 KB, for machines without the corpus."""
    rng = random.Random(seed)
    words = [
        "the",
        "service",
        "may",
        "use",
        "your",
        "content",
        "data",
        "account",
        "developer",
        "api",
        "terms",
        "provide",
        "access",
        "license",
        "agree",
        "rights",
        "third",
        "party",
        "information",
        "privacy",
        "law",
        "applicable",
        "notice",
        "termination",
        "payment",
        "fees",
        "users",
        "must",
        "not",
        "automated",
        "means",
        "including",
        "without",
        "limitation",
        "reasonable",
    ]
    while True:
        sections = []
        for number in range(1, 16):
            paragraphs = [
                " ".join(rng.choice(words) for _ in range(rng.randint(40, 90))).capitalize() + "."
                for _ in range(rng.randint(3, 6))
            ]
            sections.append(
                f"## {number}. {rng.choice(words).title()}\n\n" + "\n\n".join(paragraphs)
            )
        yield "# Terms\n\n" + "\n\n".join(sections)


def chrome(number: int, policy_html: str) -> str:
    """One page: the policy inside what real policy pages carry around it."""
    links = "".join(
        f'<li><a href="/section/{i}?utm_source=nav">Section {i}</a></li>' for i in range(24)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Policy {number} | {SERVICE}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/site.css"><style>body{{font-family:sans-serif}}</style>
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments)}}
gtag("js",new Date());gtag("config","G-BENCH{number}");</script></head>
<body><header class="site-header"><a class="logo" href="/">{SERVICE}</a><nav><ul>{links}</ul></nav>
</header><div class="cookie-banner" role="dialog"><p>We use cookies to improve your experience.</p>
<button>Accept all</button><button>Manage</button></div>
<main id="content"><article class="policy"><h1>{SERVICE} policy {number}</h1>
<div class="share"><a href="https://x.example/share">Share</a> <a href="#print">Print</a></div>
{policy_html}</article></main>
<footer><ul>{links}</ul><p>© {SERVICE}. All rights reserved.</p></footer>
<script src="/static/app.js" defer></script></body></html>
"""


def page_path(root: Path, number: int) -> Path:
    return root / "policies" / f"p{number:05d}.html"


def build_pages(root: Path, count: int) -> str:
    """Write `count` pages under `root`, dated a day ago; returns where their text came from.

    Run it in a child process (`python bench/crawlsite.py ROOT COUNT`): Linux counts the memory
    a process had when it forked in the peak RSS of the programs it then runs, so the process
    measuring them must stay small.
    """
    source = "corpus" if HISTORY.is_dir() else "generated"
    texts = corpus_texts() if source == "corpus" else generated_texts()
    render = MarkdownIt("commonmark").enable("table").render
    rendered: dict[int, str] = {}
    page_path(root, 0).parent.mkdir(parents=True, exist_ok=True)
    past = time.time() - DAY
    for number, text in zip(range(count), texts, strict=False):
        html = rendered.setdefault(hash(text), render(text))
        path = page_path(root, number)
        path.write_text(chrome(number, html), encoding="utf-8")
        os.utime(path, (past, past))
    return source


def edit_pages(root: Path, count: int, share: float, tag: str) -> list[int]:
    """Rewrite `share` of the first `count` pages with a real edit to the policy text: a new
    clause barring AI providers and a new effective date. Returns the pages edited."""
    rng = random.Random(tag)
    chosen = sorted(rng.sample(range(count), max(1, round(count * share))))
    clause = (
        f"<h2>Use by AI providers (revision {tag})</h2>\n<p>Effective January 15, 2027, providers "
        "of general-purpose AI assistants may not access or use the Business API to distribute "
        "their assistants, and content obtained through the API may not be used to train models."
        "</p>\n"
    )
    for number in chosen:
        path = page_path(root, number)
        html = path.read_text(encoding="utf-8")
        path.write_text(html.replace("</article>", clause + "</article>", 1), encoding="utf-8")
    return chosen


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A static web server over `root` that can stop honouring conditional requests."""

    name: str
    root: Path
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def validators(self, on: bool) -> None:
        raise NotImplementedError

    def statuses(self) -> Counter[int]:
        """HTTP statuses served since the last call."""
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def _wait_for(self, on: bool) -> None:
        """Until a conditional request for page 0 gets the answer the mode promises."""
        with urllib.request.urlopen(f"{self.base}/policies/p00000.html") as response:
            etag, modified = response.headers["ETag"], response.headers["Last-Modified"]
        headers = {"If-Modified-Since": modified, **({"If-None-Match": etag} if etag else {})}
        for _ in range(200):
            request = urllib.request.Request(f"{self.base}/policies/p00000.html", headers=headers)
            try:
                with urllib.request.urlopen(request) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            if (status == 304) == on:
                time.sleep(0.1)  # nginx logs a request after its answer: let these be logged
                self.statuses()  # and left out of the next run's count
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not switch validators {'on' if on else 'off'}")


NGINX_CONF = """worker_processes 2;
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format status $status;
    access_log {root}/access.log status;
    default_type text/html;
    types {{ text/html html; }}
    charset utf-8;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {root}/site;
        include {root}/validators.conf;
    }}
}}
"""
# RFC 9110 semantics for If-Modified-Since ("not modified since"), as most servers do; nginx's
# own default, `exact`, would answer 200 to a client that sends the time of its last check.
VALIDATORS = {
    True: "etag on; if_modified_since before;\n",
    False: "etag off; if_modified_since off;\n",
}


class Nginx(Server):
    """Debian's nginx, run as this user's child with its own config in a temporary folder."""

    def __init__(self, workdir: Path) -> None:
        super().__init__("nginx", workdir / "site", free_port())
        self.workdir = workdir
        (workdir / "tmp").mkdir(exist_ok=True)
        (workdir / "validators.conf").write_text(VALIDATORS[True])
        conf = workdir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=workdir, port=self.port))
        self.log = workdir / "access.log"
        self.log.touch()
        self.offset = 0
        self.process = subprocess.Popen(
            ["nginx", "-c", str(conf), "-p", str(workdir), "-e", str(workdir / "nginx-error.log")]
        )
        for _ in range(100):
            if (workdir / "nginx.pid").exists():
                break
            time.sleep(0.05)
        self._wait_for(True)

    def validators(self, on: bool) -> None:
        (self.workdir / "validators.conf").write_text(VALIDATORS[on])
        self.process.send_signal(signal.SIGHUP)
        self._wait_for(on)

    def statuses(self) -> Counter[int]:
        with self.log.open("rb") as log:
            log.seek(self.offset)
            lines = log.read().splitlines()
            self.offset = log.tell()
        return Counter(int(line) for line in lines if line.strip())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGQUIT)
        self.process.wait(timeout=10)


class PythonServer(Server):
    """The fallback: a threaded `http.server` with HTTP/1.1 keep-alive, ETag and Last-Modified."""

    def __init__(self, workdir: Path) -> None:
        super().__init__("python", workdir / "site", 0)
        self.conditional = True
        self.counts: Counter[int] = Counter()
        self.lock = threading.Lock()
        ThreadingHTTPServer.request_queue_size = 128  # the default, 5, drops bursts of connects
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def validators(self, on: bool) -> None:
        self.conditional = on
        self._wait_for(on)

    def statuses(self) -> Counter[int]:
        with self.lock:
            counts, self.counts = self.counts, Counter()
        return counts

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                """Counted in `statuses`, not logged."""

            def do_GET(self) -> None:
                path = server.root / self.path.split("?")[0].lstrip("/")
                if ".." in self.path or not path.is_file():
                    return self._send(404, b"not found", {})
                stat = path.stat()
                etag = f'"{int(stat.st_mtime):x}-{stat.st_size:x}"'
                headers = {"Last-Modified": email.utils.formatdate(stat.st_mtime, usegmt=True)}
                if server.conditional:
                    headers["ETag"] = etag
                    if self._not_modified(etag, int(stat.st_mtime)):
                        return self._send(304, b"", headers)
                self._send(200, path.read_bytes(), headers)

            def _not_modified(self, etag: str, mtime: int) -> bool:
                """Like nginx: every validator the client sent must say "not modified"."""
                since, match = self.headers["If-Modified-Since"], self.headers["If-None-Match"]
                if not since and not match:
                    return False
                if since:
                    try:
                        parsed = email.utils.parsedate_to_datetime(since).timestamp()
                    except (TypeError, ValueError):
                        return False
                    if mtime > parsed:
                        return False
                return not match or etag in match

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                with server.lock:  # counted before the client can see it
                    server.counts[status] += 1
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def start_server(workdir: Path, wanted: str) -> Server:
    """nginx if wanted and installed (`auto`), else the Python server."""
    if wanted in ("auto", "nginx") and shutil.which("nginx"):
        return Nginx(workdir)
    if wanted == "nginx":
        raise SystemExit(
            "nginx is not installed (apt-get install nginx-light), or use --server python"
        )
    return PythonServer(workdir)


if __name__ == "__main__":
    import sys

    print(build_pages(Path(sys.argv[1]), int(sys.argv[2])))
