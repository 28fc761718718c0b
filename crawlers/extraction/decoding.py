"""Bytes to text, as a browser would decode them, refusing bodies that are plainly binary."""

from __future__ import annotations

import re

from crawlers.extraction.errors import ExtractionError

# Signatures of the binary bodies a policy URL serves by mistake (PDF, images, archives, gzip).
_BINARY_MAGIC = (
    b"%PDF-",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"RIFF",
    b"\xd0\xcf\x11\xe0",
)
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_CHARSET_PRESCAN = 4096
# Control characters, lone surrogates and non-characters: never text, and some break the parser.
# (A NUL in an HTML body marks it binary before this applies; in a PDF's text it is junk.)
_JUNK_CONTROLS = "".join(map(chr, [*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F]))
_JUNK = re.compile(f"[{_JUNK_CONTROLS}\ud800-\udfff\ufffe\uffff]")


def decode(body: bytes | str, declared: str | None, what: str = "HTML") -> str:
    """Text with the junk removed, or `not-html` for bodies that are plainly binary, not the
    `what` they were served as."""
    head = body[:8].encode("latin-1", "ignore") if isinstance(body, str) else body[:8]
    if head.startswith(_BINARY_MAGIC):
        raise ExtractionError("not-html", "the body is a binary file (PDF, image or archive)")
    text = body if isinstance(body, str) else _decode_bytes(body, declared)
    if "\x00" in text:
        raise ExtractionError("not-html", f"the body contains NUL bytes: binary, not {what}")
    return without_junk(text)


def without_junk(text: str) -> str:
    """`text` without control characters, lone surrogates and non-characters: a page (or a PDF's
    text layer) may carry them, and stored they would break diffs, feeds and terminals."""
    return _JUNK.sub("", text) if _has_junk(text) else text


def _has_junk(text: str) -> bool:
    """Whether `_JUNK` matches in `text`. Most pages hold no junk, and the pattern's scan of the
    whole page costs several times these plain searches, one per control character (then, for
    text beyond ASCII, the two non-characters, and an encoding that only lone surrogates fail).
    """
    if any(control in text for control in _JUNK_CONTROLS):
        return True
    if text.isascii():
        return False
    if "\ufffe" in text or "\uffff" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return True
    return False


def _decode_bytes(body: bytes, declared: str | None) -> str:
    """Decode as a browser would: byte-order mark, then HTTP charset, then meta charset, then
    UTF-8, unless the bytes are plainly not (windows-1252 then, the default of browsers in most
    of the world): never a guess from the bytes, which changes as the page's words do. Undecodable
    bytes become U+FFFD rather than failing the page."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace")
    codecs = [_codec_for(declared)] if declared else []
    if meta := _META_CHARSET.search(body[:_CHARSET_PRESCAN]):
        codecs.append(_meta_codec_for(meta[1].decode("ascii")))
    for codec in codecs:
        try:
            return body.decode(codec, errors="replace")
        except LookupError:  # an unknown label, or a codec that is not a text encoding
            continue
    text = body.decode("utf-8", errors="replace")
    if "\ufffd" in text and not _any_utf8_sequence(text):
        return body.decode("cp1252", errors="replace")
    return text


def _any_utf8_sequence(text: str) -> bool:
    """Whether UTF-8 decoded a multi-byte sequence into `text`: a UTF-8 page with a stray byte
    holds them, a windows-1252 page next to never (its é, ’ and © are single bytes UTF-8 can
    not read). Looked at only for a page that has bytes UTF-8 could not read."""
    return any(char > "\x7f" and char != "\ufffd" for char in text)


def _codec_for(label: str) -> str:
    """Browsers read latin-1 and ASCII labels as windows-1252; so do we, so that pages decode as
    their authors saw them (curly quotes in 0x80-0x9F, not control characters)."""
    label = label.strip().lower()
    if label in {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "ascii", "us-ascii"}:
        return "cp1252"
    return label


def _meta_codec_for(label: str) -> str:
    """A meta tag readable as ASCII cannot be UTF-16 or UTF-32: browsers take UTF-8 then."""
    if label.lower().startswith(("utf-16", "utf16", "utf-32", "utf32")):
        return "utf-8"
    return _codec_for(label)
