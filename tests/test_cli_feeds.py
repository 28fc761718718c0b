"""The Atom feeds `policywatch serve` publishes, as feed readers keep them over time."""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path

import feedparser

from policywatch.web import create_app
from tests.alerting import T0, History

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette suggests httpx2; httpx is what it still runs on
    from fastapi.testclient import TestClient

HOSTS = ("http://127.0.0.1:8000", "http://localhost:8000", "http://watch.lan")


def entries(history: History, host: str, base_url: str | None = None) -> list[dict[str, str]]:
    app = create_app(history.engine, base_url=base_url)
    feed = feedparser.parse(TestClient(app, base_url=host).get("/feeds/all.atom").content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    return [{"id": entry.id, "link": entry.link} for entry in feed.entries]


def test_a_change_keeps_its_entry_id_whatever_host_name_the_feed_is_read_through(
    tmp_path: Path,
) -> None:
    """Without a base URL an entry's id was the address the request named: the same change
    read as `localhost` and as `127.0.0.1` (a second reader, a laptop on the LAN) was two
    entries, shown twice. Its link still follows the host, to be opened from there."""
    history = History(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    change = history.change(at=T0)
    read = {host: entries(history, host) for host in HOSTS}
    assert {host: [entry["link"] for entry in got] for host, got in read.items()} == {
        host: [f"{host}/changes/{change}"] for host in HOSTS
    }
    [ids] = {tuple(entry["id"] for entry in got) for got in read.values()}
    assert ids[0].startswith("urn:uuid:")
    # Another store's change of the same number, found at another moment, is another entry.
    other = History(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    assert other.change(at=T0 + timedelta(seconds=1)) == change
    assert [entry["id"] for entry in entries(other, HOSTS[0])] != list(ids)


def test_with_a_base_url_an_entry_id_is_the_change_page_under_it_as_before(
    tmp_path: Path,
) -> None:
    """The ids readers already hold under a configured base URL are kept."""
    history = History(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    change = history.change()
    for host in HOSTS:
        [entry] = entries(history, host, base_url="https://watch.example.org/pw")
        assert entry["id"] == entry["link"] == f"https://watch.example.org/pw/changes/{change}"


def feed_of(history: History, host: str, path: str, base_url: str | None = None) -> dict[str, str]:
    app = create_app(history.engine, base_url=base_url)
    feed = feedparser.parse(TestClient(app, base_url=host).get(path).content).feed
    return {"id": feed.id, "self": next(link.href for link in feed.links if link.rel == "self")}


def test_a_feed_keeps_its_id_whatever_host_name_it_is_read_through(tmp_path: Path) -> None:
    """Without a base URL a feed's own id was the address the request named, as its entries'
    were: read as `localhost` and as `127.0.0.1`, one feed was two to a reader. Its self link
    still follows the host; each selection keeps an id of its own."""
    history = History(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    history.change(at=T0)
    paths = ("/feeds/all.atom", "/feeds/service/whatsapp.atom", "/feeds/all.atom?service=WhatsApp")
    read = {(host, path): feed_of(history, host, path) for host in HOSTS for path in paths}
    assert {feed["self"] for feed in read.values()} == {
        f"{host}/feeds/{tail}" for host in HOSTS for tail in ("all.atom", "service/whatsapp.atom")
    }
    ids = {path: {read[host, path]["id"] for host in HOSTS} for path in paths}
    assert all(len(held) == 1 and next(iter(held)).startswith("urn:uuid:") for held in ids.values())
    assert ids[paths[1]] == ids[paths[2]] != ids[paths[0]]


def test_with_a_base_url_a_feed_id_is_its_address_under_it_as_before(tmp_path: Path) -> None:
    history = History(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    history.change()
    for host in HOSTS:
        feed = feed_of(history, host, "/feeds/severity/HIGH.atom", "https://watch.example.org/pw")
        assert feed["id"] == feed["self"] == "https://watch.example.org/pw/feeds/severity/high.atom"
