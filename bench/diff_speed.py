"""How fast a long policy's change is read: compare + classify, identical texts, and the diff the
change page shows (`policywatch.web.diffview.sections`).

Builds a ~300 KB policy from real documents of `../shared/corpus/history` (Open Terms Archive
data, ODbL/CC-BY), makes a handful of edits (a new section barring AI providers, a reworded
sentence, a deleted paragraph, a moved paragraph, curly quotes and a date rewritten, a new
effective date), and times `compare` + `classify` on it, and `assess` on identical texts.
The first call of a process is timed apart: it is what a cron-run crawl pays. The change page
is timed on the same edits, and on ~1 MB of policy (the latest version of every corpus document)
with a third of its paragraphs reworded: it is computed at every view.

    python bench/diff_speed.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from diffengine import Classification, assess, classify, compare, load_rules
from policywatch.web.diffview import sections

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
HISTORY = CORPUS / "history"
SOURCES = (
    "Le-Chat__Terms-of-Service",
    "Google-Play__Developer-Terms",
    "Facebook__Developer-Terms",
    "Instagram__Terms-of-Service",
    "ChatGPT__Commercial-Terms",
    "Snapchat__Terms-of-Service",
    "YouTube__Terms-of-Service",
)
TARGET_BYTES = 300_000
LARGE_BYTES = 1_000_000
RUNS = 20
AI_PROVIDERS = """
## AI Providers

Providers and developers of artificial intelligence or machine learning technologies, including
but not limited to large language models, generative artificial intelligence platforms,
general-purpose artificial intelligence assistants, or similar technologies as determined by Meta
in its sole discretion ("AI Providers"), are strictly prohibited from accessing or using the
WhatsApp Business Solution, whether directly or indirectly, for the purposes of providing,
delivering, offering, selling, or otherwise making available such technologies when such
technologies are the primary (rather than incidental or ancillary) functionality being made
available for use, as determined by Meta in its sole discretion. This section is effective
January 15, 2026.
"""


def policy(size: int = TARGET_BYTES) -> str | None:
    """About `size` bytes of real policy text: the latest versions of a few long documents,
    then of the others."""
    index_file = HISTORY / "index.json"
    if not index_file.is_file():
        return None
    documents = {doc["id"]: doc for doc in json.loads(index_file.read_text())["documents"]}
    parts: list[str] = []
    for source in [*SOURCES, *(name for name in documents if name not in SOURCES)]:
        latest = max(documents[source]["versions"], key=lambda version: version["bytes"])
        parts.append((HISTORY / latest["file"]).read_text(encoding="utf-8"))
        if sum(map(len, parts)) >= size:
            break
    return "\n\n".join(parts)[:size]


def edited(text: str) -> str:
    """`text` with a handful of edits, real and cosmetic, spread over the document."""
    paragraphs = text.split("\n\n")
    middle, late = len(paragraphs) // 2, 3 * len(paragraphs) // 4
    paragraphs.insert(len(paragraphs) // 5, AI_PROVIDERS.strip())  # a new section
    paragraphs[middle] = paragraphs[middle].replace(" the ", " any ", 1)  # a reworded sentence
    moved = paragraphs.pop(late)  # a moved paragraph
    paragraphs.insert(len(paragraphs) // 3, moved)
    del paragraphs[late - 7]  # a deleted paragraph
    paragraphs[10] = paragraphs[10].replace('"', "“")  # typography only
    return "\n\n".join(paragraphs)


def reworded(text: str) -> str:
    """`text` with every third paragraph reworded: a policy rewritten throughout."""
    paragraphs = text.split("\n\n")
    return "\n\n".join(
        paragraph.replace(" the ", " this ", 1) if index % 3 == 0 else paragraph
        for index, paragraph in enumerate(paragraphs)
    )


def timed(call: Callable[[], object], runs_after: int = RUNS) -> tuple[float, float]:
    """(first call, median of the next `runs_after`) in milliseconds."""
    started = time.perf_counter()
    call()
    first = (time.perf_counter() - started) * 1000
    runs = []
    for _ in range(runs_after):
        started = time.perf_counter()
        call()
        runs.append((time.perf_counter() - started) * 1000)
    return first, statistics.median(runs)


def main() -> int:
    old = policy()
    if old is None:
        print(f"corpus not found at {HISTORY}: skipping the diff speed benchmark")
        return 0
    new = edited(old)
    today = date(2025, 10, 15)
    started = time.perf_counter()
    rules = load_rules()
    loading = (time.perf_counter() - started) * 1000
    print(f"loading the shipped rules (once per process): {loading:.1f} ms")

    def compare_and_classify() -> Classification:
        return classify(compare(old, new), rules, today=today)

    first, median = timed(compare_and_classify)
    report = compare(old, new)
    verdict = compare_and_classify()
    print(
        f"policy: {len(old) / 1000:.0f} KB; {len(report.paragraphs)} block changes, "
        f"{len(report.substantive)} sentence changes"
    )
    print(f"verdict: [{verdict.severity}] {verdict.summary}")
    print(
        f"compare + classify, 300 KB, a handful of edits: first call {first:.1f} ms, "
        f"then median {median:.1f} ms (target < 30 ms)"
    )
    same = (old + ".")[:-1]  # an equal text, not the same object
    first, median = timed(lambda: assess(old, same, ()))
    print(
        f"assess, identical texts: first call {first:.3f} ms, then median {median:.3f} ms "
        f"(target < 1 ms)"
    )
    first, median = timed(lambda: sections(old, new, []))
    print(f"change page diff, 300 KB, a handful of edits: median {median:.1f} ms")
    large = policy(LARGE_BYTES) or old
    rewritten = reworded(large)
    first, median = timed(lambda: sections(large, rewritten, []), runs_after=3)
    print(
        f"change page diff, {len(large) / 1000:.0f} KB, a third of its paragraphs reworded: "
        f"median {median:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
