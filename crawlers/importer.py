"""`import-history`: dated versions from disk (e.g. an Open Terms Archive dataset) into the store.

A document's folder holds one file per version, named by the moment it was recorded
(`2024-05-22.md`, `2024-05-22T12-36-09Z.md`, `2024-05-22T123609Z_fc4bbd876.md`,
`2024-05-22T12:36:09Z.md`). Each version takes the timestamp of its file name, so each change is
dated by the later version, as if it had been crawled then.

An import only appends: a file no newer than the document's history (`recorded_versions`) is left
out, whether its text is already recorded (the same folder imported again) or not (a crawled
document's history is not rewritten from the past, which would date old wording as its newest
change). A file of the history's very moment whose text it lacks is the next version, not the past:
the second of two versions of one moment, after an import interrupted between them.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawlers.declarations import document_key
from crawlers.extraction import ExtractionError, extract_markdown
from crawlers.extraction.decoding import decode
from diffengine import assess, compare
from store.queries import recorded_versions
from store.repository import Attempt, DocumentInfo, Judge, Repository, text_sha256

_DATED = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:T(?P<h>\d{2})[-:]?(?P<m>\d{2})[-:]?(?P<s>\d{2})(?P<fraction>\.\d+)?"
    r"(?:Z|(?P<offset>[+-]\d{2}:?\d{2}))?)?"
    r"(?P<rest>[_.-].*)?$"
)
_DATE_LIKE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}")  # meant as a date, read or not
SUFFIXES = (".md", ".html", ".htm")
UNRELATED = 0.1  # under this share of a history's paragraphs kept, a file is another document's


def _moment(stem: str) -> datetime | None:
    """The UTC moment a dated name gives, None when it is not dated; ValueError (`month must be
    in 1..12`) when the date or time it gives does not exist.

    A time with an offset (`2024-05-22T07:36:09-05:00`, as `date -Iseconds` names files outside
    UTC) is that moment in UTC: the offset was read as a suffix of the name, so a file saved in
    New York at 23:00 was dated 23:00 UTC, five hours early, and could sort before a version
    saved after it. Fractions of a second are kept: two versions saved in one second are two.
    """
    match = _DATED.match(stem)
    if not match:
        return None
    day = datetime.fromisoformat(match["date"])
    hour, minute, second = (int(match[part] or 0) for part in ("h", "m", "s"))
    micro = int(f"{match['fraction'] or '.'}000000"[1:7])
    moment = day.replace(hour=hour, minute=minute, second=second, microsecond=micro, tzinfo=UTC)
    return moment - _offset(match["offset"]) if match["offset"] else moment


def _offset(written: str) -> timedelta:
    """`-05:00` or `+0200` as a timedelta; ValueError for one no time zone has."""
    hours, minutes = int(written[1:3]), int(written[-2:])
    if hours > 23 or minutes > 59:
        raise ValueError(f"offset {written} is out of range")
    return (-1 if written[0] == "-" else 1) * timedelta(hours=hours, minutes=minutes)


def file_timestamp(path: Path) -> datetime | None:
    """The UTC moment a dated file name gives, or None when it gives none (`misnamed` finds
    the names that start like a date all the same)."""
    try:
        return _moment(path.stem)
    except ValueError:
        return None


def _files(folder: Path) -> list[Path]:
    return [path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in SUFFIXES]


def _dated_files(folder: Path) -> list[Path]:
    return [path for path in _files(folder) if file_timestamp(path)]


def _folders(root: Path) -> list[Path]:
    return sorted([root, *(path for path in root.rglob("*") if path.is_dir())])


def document_folders(root: Path) -> Iterator[Path]:
    """Every folder under `root` (itself included) that directly holds dated files, sorted."""
    for folder in _folders(root):
        if _dated_files(folder):
            yield folder


def misnamed(root: Path) -> list[tuple[Path, str]]:
    """The .md and .html files under `root` whose names start like a date but give no moment
    (`2025-02-30.md`, `2025-01-01T25:00:00Z.md`, `2025-01-01T1200Z.md`), each with why. Their
    names were meant as dates: ignored as names that are not, each would be a version lost
    without a word."""
    wrong: list[tuple[Path, str]] = []
    for folder in _folders(root):
        for path in sorted(_files(folder)):
            if not _DATE_LIKE.match(path.name):
                continue
            try:
                if _moment(path.stem) is None:
                    wrong.append((path, "not a date or timestamp this import reads"))
            except ValueError as error:
                wrong.append((path, str(error)))
    return wrong


def dated_after(folder: Path, moment: datetime) -> list[tuple[Path, datetime]]:
    """The files of `folder` whose names date them after `moment`, oldest first. A version from
    the future has a wrong name; recorded, it would stand as the newest version, and every file
    imported later with a true date would be left out as older than the history."""
    ahead = [
        (path, at) for path in _dated_files(folder) if (at := file_timestamp(path)) and at > moment
    ]
    return sorted(ahead, key=lambda item: (item[1], item[0].name))


def identify(folder: Path) -> tuple[str, str]:
    """Service and document type from the layout: `Service__Type/` or `service/type/`. The
    folder is read as an absolute path, `..` collapsed (symbolic links not followed: their names
    are the layout): `import-history Terms` typed beside it named its service '' (`..` for
    `exports/../Terms`)."""
    folder = Path(os.path.abspath(folder))  # noqa: PTH100 - resolve() follows links
    if "__" in folder.name:
        service, _, doc_type = folder.name.partition("__")
        return service.replace("-", " "), doc_type.replace("-", " ")
    return folder.parent.name, folder.name


@dataclass
class FolderReport:
    """What one document's import did."""

    key: str
    versions: int = 0
    changes: int = 0
    unchanged: int = 0
    already: int = 0  # files whose text the history holds, at or before its latest version
    older: int = 0  # files older than the latest version whose text the history lacks
    recorded_until: datetime | None = None  # see recorded_versions, before the import
    skipped: list[str] = field(default_factory=list)
    # The first file recorded after the document's history, and the share of that history's
    # paragraphs it kept, when under UNRELATED: most likely another document's (`_kept`).
    unlike: tuple[str, float] | None = None

    @property
    def read(self) -> bool:
        """Whether any file was read, recorded or not (not when every one was skipped)."""
        return bool(self.versions or self.unchanged or self.already or self.older)


@dataclass(frozen=True)
class HtmlRules:
    """How to extract `.html` versions: the declaration's select and remove."""

    select: Sequence[str] = ()
    remove: Sequence[str] = ()


def _read_text(path: Path, rules: HtmlRules) -> str:
    """A version's text: an `.html` file extracted, a `.md` file as it is (UTF-8), its control
    characters dropped as a fetched page's are. A `.md` file with no text, or a binary one (NUL
    bytes), raises `ExtractionError` and is skipped, as a crawl makes neither a version: recorded,
    an empty capture was a change that 'lifted' every restriction of the policy, and NULs and
    terminal escapes reached diffs, feeds and --json."""
    if path.suffix.lower() != ".md":
        return extract_markdown(path.read_bytes(), select=rules.select, remove=rules.remove)
    text = decode(path.read_text(encoding="utf-8"), None, what="Markdown")
    if not text.strip():
        raise ExtractionError("empty-text", "the file holds no text")
    return text


def _kept(recorded: str, text: str) -> float:
    """The share of the paragraphs of the `recorded` text that `text` keeps, as they are or
    reworded, by the diff engine's own pairing of the two: those it finds removed are gone.
    Another document's text keeps next to none (a TikTok folder imported under WhatsApp's key,
    recorded as a high change without a word); a policy's next version most of them."""
    report = compare(recorded, text)
    removed = sum(1 for paragraph in report.paragraphs if paragraph.kind == "removed")
    return 1 - removed / len(report.old_blocks) if report.old_blocks else 1.0


def _not_utf8(path: Path, error: UnicodeDecodeError) -> str:
    """Why a `.md` file was skipped that is not UTF-8, and how to convert it: Python's words
    (`'utf-8' codec can't decode byte 0xe9 in position 14: invalid continuation byte`) named
    neither. Windows-1252 is what such a file most often is (Notepad's, Word's "plain text")."""
    source = shlex.quote(str(path))
    converted = shlex.quote(f"{path}.utf8")
    return (
        f"not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start});"
        " convert it to UTF-8 and import again, from Windows-1252 (the usual other) with:"
        f" iconv -f windows-1252 -t utf-8 {source} > {converted} && mv {converted} {source}"
    )


def _versions(folder: Path) -> list[tuple[datetime, list[Path]]]:
    """The folder's versions, oldest first: the files of one moment make one version.

    Open Terms Archive's snapshots of a document that combines several pages are one file per
    page, all named by the same moment; imported one by one, each page was taken for the next
    version of the whole (a change "collapsing" it to one page, then another "restoring" it).
    Their texts are joined as the crawl joins a combined document's pages, in the order of the
    page names (`_page`), the same at every moment.

    Files of one moment that are not each a page of its own are versions of their own, in the
    order of their names (`2024-05-22.md` before `2024-05-22-evening.md`, two captures named by
    one day), as Open Terms Archive's change and its re-extraction (a technical upgrade) dated
    alike are (Facebook's terms at 2022-04-26T06:33:18Z). Joined as pages, they made one version
    holding the policy twice.
    """
    moments: dict[datetime, list[Path]] = {}
    for path in _dated_files(folder):
        moment = file_timestamp(path)
        assert moment is not None
        moments.setdefault(moment, []).append(path)
    versions: list[tuple[datetime, list[Path]]] = []
    for moment, paths in sorted(moments.items()):
        pages = {_page(path) for path in paths} - {""}
        if len(pages) == len(paths):
            versions.append((moment, sorted(paths, key=lambda path: (_page(path), path.name))))
        else:
            named = sorted(paths, key=lambda path: (path.stem, path.name))
            versions.extend((moment, [path]) for path in named)
    return versions


def _page(path: Path) -> str:
    """The page of a combined document a file holds, named after its moment and id as Open Terms
    Archive names them (`2025-11-11T152254Z_04227919e.legal-aup.html`: `legal-aup`); '' for a
    file of the whole document."""
    match = _DATED.match(path.stem)
    return (match["rest"] or "").partition(".")[2] if match else ""


def import_folder(
    repository: Repository,
    folder: Path,
    service: str,
    document_type: str,
    rules: HtmlRules | None = None,
    on_file: Callable[[Path], None] = lambda _: None,
    judge: Judge = assess,
) -> FolderReport:
    """Record the dated files of `folder` newer than its history, oldest first, as versions of
    one document."""
    key = document_key(service, document_type)
    document = DocumentInfo(
        key, service, document_type, folder.resolve().as_uri(), {"imported": True}
    )
    until, known = recorded_versions(repository.engine, key)
    made = until is not None  # a document with versions
    report = FolderReport(key, recorded_until=until)
    for at, paths in _versions(folder):
        texts: list[str] = []
        for path in paths:
            on_file(path)
            try:
                texts.append(_read_text(path, rules or HtmlRules()))
            except UnicodeDecodeError as error:
                report.skipped.append(f"{path.name}: {_not_utf8(path, error)}")
            except (OSError, ExtractionError) as error:
                report.skipped.append(f"{path.name}: {error}")
        if len(texts) < len(paths):
            continue  # a version missing a page is no version of the whole
        text = "\n".join(texts)
        if text_sha256(text) in known and until is not None and at <= until:
            report.already += len(paths)
            continue
        if until is not None and at < until:
            report.older += len(paths)
            continue
        first = until is not None and not report.versions  # the first file after the history
        if first and (kept := _kept(repository.latest_text(key) or "", text)) < UNRELATED:
            report.unlike = (paths[0].name, kept)
        if not made:  # with its first version: an import that records none leaves no document
            repository.sync_documents([document], at=at, refresh=False)
            made = True
        attempt = Attempt(url=paths[0].resolve().as_uri(), at=at)
        recorded = repository.record_text(key, attempt, text, judge, imported=True)
        report.versions += recorded.outcome != "unchanged"
        report.changes += recorded.outcome == "changed"
        report.unchanged += recorded.outcome == "unchanged"
    return report
