"""Replay the corpus history through the diff engine and count what it would have said.

Every document of `../shared/corpus/history` (Open Terms Archive data, ODbL/CC-BY) is replayed
version by version through `diffengine.assess`, the way the crawl records it: `seen` holds the
fingerprints of earlier versions, `history` the last thirty distinct earlier texts, and after a
capture anomaly the next version is judged against the last sound one (`baseline`). Prints, per
document and in total: versions, changes seen, meaningful changes, alerts by severity, and the
changes suppressed by reason.

    python bench/detection.py                      # the table
    python bench/detection.py --show high          # and every alert at high or above
    python bench/detection.py --show high --matches  # with the rule matches behind each
    python bench/detection.py --document Threads   # only documents whose id contains this
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from diffengine import Assessment, RuleMatch, assess, text_fingerprint
from diffengine.rules import SEVERITIES, severity_rank

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
HISTORY = CORPUS / "history"
REASONS = ("cosmetic", "flapping", "anomaly")
HISTORY_DEPTH = 30  # distinct earlier texts passed to `assess` to recognise page variants
ORDER = tuple(reversed(SEVERITIES))


@dataclass
class Tally:
    """What the engine said about one document's history."""

    versions: int = 0
    changes: int = 0
    meaningful: int = 0
    severities: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.versions += other.versions
        self.changes += other.changes
        self.meaningful += other.meaningful
        self.severities.update(other.severities)
        self.reasons.update(other.reasons)


def replay(document: dict[str, Any]) -> tuple[Tally, list[tuple[str, Assessment]]]:
    """Assess each version of `document` against the one before; return the tally and alerts."""
    tally = Tally()
    alerts: list[tuple[str, Assessment]] = []
    seen: set[str] = set()
    history: dict[str, str] = {}  # fingerprint -> text, most recent last
    previous: str | None = None
    baseline: str | None = None
    for version in document["versions"]:
        path = HISTORY / version["file"]
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        tally.versions += 1
        if previous is not None:
            when = datetime.fromisoformat(version["date"].replace("Z", "+00:00")).date()
            verdict = assess(
                previous,
                text,
                seen,
                baseline=baseline if baseline is not previous else None,
                history=list(reversed(history.values()))[:HISTORY_DEPTH],
                today=when,
            )
            tally.changes += 1
            if verdict.meaningful:
                tally.meaningful += 1
                tally.severities[verdict.severity or "none"] += 1
                alerts.append((version["date"], verdict))
            else:
                tally.reasons[verdict.reason or "none"] += 1
            if verdict.reason != "anomaly":
                baseline = text
        else:
            baseline = text
        fingerprint = text_fingerprint(text)
        seen.add(fingerprint)
        history.pop(fingerprint, None)
        history[fingerprint] = text
        previous = text
    return tally, alerts


def _row(name: str, tally: Tally) -> str:
    severities = " ".join(f"{tally.severities[level]:>4}" for level in ORDER)
    reasons = " ".join(f"{tally.reasons[reason]:>8}" for reason in REASONS)
    return (
        f"{name[:46]:<46} {tally.versions:>5} {tally.changes:>5} {tally.meaningful:>5} "
        f"{severities}  {reasons}"
    )


def _match_line(match: RuleMatch) -> str:
    sentence = match.sentence if len(match.sentence) <= 240 else match.sentence[:237] + "..."
    return f"    [{match.severity}] {match.rule_id} ({match.side}) § {match.section}: {sentence}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--show", choices=SEVERITIES, help="list alerts at this severity or above")
    parser.add_argument("--document", default="", help="only documents whose id contains this")
    parser.add_argument("--matches", action="store_true", help="with --show: each rule match too")
    options = parser.parse_args(argv)
    index_file = HISTORY / "index.json"
    if not index_file.is_file():
        print(f"corpus not found at {HISTORY}: skipping the detection benchmark")
        return 0
    documents = [
        document
        for document in json.loads(index_file.read_text(encoding="utf-8"))["documents"]
        if options.document.lower() in document["id"].lower()
    ]
    header = " ".join(f"{level[:4]:>4}" for level in ORDER)
    reasons = " ".join(f"{reason:>8}" for reason in REASONS)
    print(f"{'document':<46} {'vers':>5} {'chgs':>5} {'mean':>5} {header}  {reasons}")
    total = Tally()
    listing: list[str] = []
    started = time.perf_counter()
    for document in documents:
        tally, alerts = replay(document)
        total.add(tally)
        print(_row(document["id"], tally))
        if options.show:
            floor = severity_rank(options.show)
            for when, verdict in alerts:
                if severity_rank(verdict.severity) >= floor:
                    listing.append(
                        f"{document['id']} {when[:10]} [{verdict.severity}] {verdict.summary}"
                    )
                    if options.matches:
                        listing += [_match_line(match) for match in verdict.matches]
    print(_row("TOTAL", total))
    print(f"replayed in {time.perf_counter() - started:.1f} s")
    if listing:
        print()
        print("\n".join(listing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
