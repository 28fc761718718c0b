"""Scrapy's decompression of bodies, with a compressed page cut short failed rather than recorded.

Scrapy 2.19 decodes gzip, deflate, brotli and zstd bodies "as much as possible": a stream that
stops before its end marker gives the text decoded so far, and the response reads as whole. A
page whose compressed stream was cut short (a cache or proxy that stored or passed on a truncated
object, a server that crashed mid-compression with a length that covered what it sent) was
recorded as a new version, its missing end read as clauses removed. Here a stream must reach its
end marker, or the fetch fails (`CompressedCutShort`); bytes that are no stream of the encoding
named fail too (`CompressedCorrupt`), said in words instead of zlib's or brotli's. The size cap
still applies as the body inflates (Scrapy's `_DecompressionMaxSizeExceeded`, which Scrapy's
middleware turns into its "exceeded DOWNLOAD_MAXSIZE during decompression").

A gzip member whose deflate data ended but whose trailer checksum is wrong is kept, as browsers
keep it: the data says where it ends, so nothing is missing.
"""

from __future__ import annotations

import sys
import zlib
from io import BytesIO

import brotli  # type: ignore[import-untyped]  # a dependency of Scrapy, as zstd is
from scrapy import Request, Spider
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.http import Response
from scrapy.utils._compression import _CHUNK_SIZE, _check_max_size

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

_GZIP_MAGIC = b"\x1f\x8b"


class CompressedCutShort(Exception):
    """A compressed body whose stream ends before its end marker: the page was cut short."""

    def __init__(self, encoding: str, decoded: int) -> None:
        super().__init__(
            f"the page's {encoding} data stops before its end ({decoded:,} bytes decoded):"
            " it was cut short on the way, so it is not recorded"
        )


class CompressedCorrupt(Exception):
    """A body that is no valid stream of the compression its Content-Encoding names."""

    def __init__(self, encoding: str, error: Exception) -> None:
        super().__init__(
            f"the page is sent as {encoding}-compressed (Content-Encoding), but its data is not"
            f" valid {encoding} ({error})"
        )


class WholeBodyCompressionMiddleware(HttpCompressionMiddleware):
    """Set in place of Scrapy's in crawlers/settings.py. Only a 2xx body, which may be recorded,
    must be whole: an error page is screened by its status, and its body read as it came."""

    _strict = False

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        self._strict = 200 <= response.status < 300
        return super().process_response(request, response)

    def _decode(self, body: bytes, encoding: bytes, max_size: int) -> bytes:  # type: ignore[override]
        if not body or not self._strict:  # nothing to decode (a HEAD, a 204), or an error page
            return HttpCompressionMiddleware._decode(body, encoding, max_size)
        if encoding in (b"gzip", b"x-gzip"):
            return _gunzip(body, max_size)
        if encoding == b"deflate":
            return _inflate(body, max_size)
        if encoding == b"br":
            return _unbrotli(body, max_size)
        if encoding == b"zstd":
            return _unzstd(body, max_size)
        return body  # Scrapy passes only the encodings above


class _Output:
    """The decoded bytes, counted against the size cap as they come."""

    def __init__(self, max_size: int) -> None:
        self.stream = BytesIO()
        self.size = 0
        self.max_size = max_size

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        _check_max_size(self.size, self.max_size)
        self.stream.write(chunk)


def _gunzip(body: bytes, max_size: int) -> bytes:
    """Every gzip member of `body` (a body may hold several, one after the other), each to its
    end; anything after the last member but another member is ignored, as gzip(1) does. Each
    member's deflate data is decoded raw, its trailer (CRC-32 and length) skipped: the data
    marks its own end, and browsers keep a page whose trailer is wrong."""
    output = _Output(max_size)
    rest = body
    while True:
        decompressor = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
        try:  # (the size cap's error is a ValueError too, and goes on)
            data = rest[_gzip_header_length(rest) :]
        except ValueError as error:
            raise CompressedCorrupt("gzip", error) from None
        try:
            ended = _zlib_stream(decompressor, data, output)
        except zlib.error as error:
            raise CompressedCorrupt("gzip", error) from None
        if not ended:
            raise CompressedCutShort("gzip", output.size)
        rest = decompressor.unused_data[8:]  # past the trailer
        if not rest.startswith(_GZIP_MAGIC):
            return output.stream.getvalue()


def _gzip_header_length(member: bytes) -> int:
    """The length of the header of the gzip member `member` starts with (RFC 1952, 2.3)."""
    if member[:3] != _GZIP_MAGIC + b"\x08":
        raise ValueError("no gzip header")
    flags, at = member[3], 10
    if flags & 4:  # FEXTRA: a length, then that many bytes
        at += 2 + int.from_bytes(member[at : at + 2], "little")
    for flag in (8, 16):  # FNAME, FCOMMENT: zero-terminated
        if flags & flag:
            at = member.index(b"\x00", at) + 1
    if flags & 2:  # FHCRC
        at += 2
    if at > len(member):
        raise ValueError("the gzip header is cut short")
    return at


def _inflate(body: bytes, max_size: int) -> bytes:
    """A deflate body: zlib-wrapped, as HTTP says, or raw, as some servers send it."""
    output = _Output(max_size)
    try:
        ended = _zlib_stream(zlib.decompressobj(), body, output)
    except zlib.error:
        if output.size:  # failed past its start: the stream itself is bad
            raise CompressedCorrupt("deflate", zlib.error("invalid data")) from None
        try:
            ended = _zlib_stream(zlib.decompressobj(wbits=-zlib.MAX_WBITS), body, output)
        except zlib.error as error:
            raise CompressedCorrupt("deflate", error) from None
    if not ended:
        raise CompressedCutShort("deflate", output.size)
    return output.stream.getvalue()


def _zlib_stream(decompressor: zlib._Decompress, data: bytes, output: _Output) -> bool:
    """Decode one zlib stream from `data` in bounded chunks; whether it reached its end."""
    chunk = decompressor.decompress(data, _CHUNK_SIZE)
    while True:
        output.write(chunk)
        if decompressor.eof:
            return True
        chunk = decompressor.decompress(decompressor.unconsumed_tail, _CHUNK_SIZE)
        if not chunk and not decompressor.unconsumed_tail:
            return False  # all input read, no end marker: cut short


def _unbrotli(body: bytes, max_size: int) -> bytes:
    output = _Output(max_size)
    decompressor = brotli.Decompressor()
    try:
        output.write(decompressor.process(body, output_buffer_limit=_CHUNK_SIZE))
        while not decompressor.is_finished():
            chunk = decompressor.process(b"", output_buffer_limit=_CHUNK_SIZE)
            if not chunk:
                raise CompressedCutShort("brotli", output.size)
            output.write(chunk)
    except brotli.error as error:
        raise CompressedCorrupt("brotli", error) from None
    return output.stream.getvalue()


def _unzstd(body: bytes, max_size: int) -> bytes:
    output = _Output(max_size)
    reader = zstd.ZstdFile(BytesIO(body))
    try:
        while chunk := reader.read(_CHUNK_SIZE):
            output.write(chunk)
    except EOFError:
        raise CompressedCutShort("zstd", output.size) from None
    except zstd.ZstdError as error:
        raise CompressedCorrupt("zstd", error) from None
    return output.stream.getvalue()
