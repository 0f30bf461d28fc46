"""Streaming, validating parsers for the three CSV formats animerec ingests.

The core is :func:`parse`: it takes a *source* (a path, a binary or text file object such as
an HTTP upload stream, or any iterable of text/bytes lines), checks the header, and yields one
cleaned record per good row, never holding more than one row in memory. Bad rows are not
raised: each is recorded in the :class:`ParseReport` with its 1-based physical line number in
the file (the line a multi-line record starts on) and a reason, and parsing goes on. Only a
file that is not of the format at all (empty, no header, wrong columns, not UTF-8 text) raises
:class:`FormatError`.

Cleaning, as the shipped Kaggle files need it:

* CRLF line endings, a UTF-8 byte-order mark, surrounding whitespace: accepted;
* HTML entities in names and synopses (``&quot;``, ``&#039;``, ``&amp;``): unescaped;
* catalog: ``episodes`` = ``Unknown`` and empty ``rating``/``genre``/``type``/``episodes``/
  ``members`` become ``None``; genres become a list of stripped strings;
* ratings: integer user/anime ids; the rating must be -1 (watched, no score) or 1..10;
* synopses: the site's "No synopsis ... has been added" placeholders and empty text become
  ``None`` (nothing to store).

Records: catalog rows are dicts (the keys ``store.CatalogStore.upsert_anime`` takes), ratings are
``(user_id, anime_id, rating)`` tuples, synopses ``(anime_id, synopsis_or_None)`` pairs.
Duplicates are *not* resolved here (the parser is streaming); the loaders resolve them, last
row wins.
"""
from __future__ import annotations

import csv
import hashlib
import html
import io
import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

INT32_MAX = 2**31 - 1  # Cassandra ``int``


class FormatError(ValueError):
    """The input is not a file of the expected format at all (nothing of it can be loaded)."""


class RowError(ValueError):
    """One row is invalid; ``code`` is a stable category, the message the detail."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Rejection:
    line: int          # 1-based physical line of the file the record starts on
    code: str          # category, e.g. "rating_out_of_range"
    reason: str        # human-readable detail
    text: str = ""     # the offending row, shortened

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" + (f"  [{self.text}]" if self.text else "")


@dataclass
class ParseReport:
    """What a parse saw; filled in while the records are consumed."""

    format: str
    keep_rejections: int = 100
    header: list[str] = field(default_factory=list)
    rows_read: int = 0          # data records (header and blank lines excluded)
    rows_ok: int = 0
    rows_rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)  # the first ``keep_rejections``
    reasons: Counter = field(default_factory=Counter)           # rejections per code
    lines: int = 0              # physical lines read so far
    bytes_read: int = 0         # bytes read so far (binary sources; text sources: UTF-8 length)
    sha256: str | None = None   # of the bytes read, set when the source is exhausted
    done: bool = False

    def reject(self, line: int, code: str, reason: str, text: str = "") -> None:
        self.rows_rejected += 1
        self.reasons[code] += 1
        if len(self.rejections) < self.keep_rejections:
            self.rejections.append(Rejection(line, code, reason, text[:160]))


# --- field cleaners ---------------------------------------------------------------------------

def _null(text: str) -> bool:
    return text == "" or text.isspace()


def parse_int(text: str, column: str, *, minimum: int | None = None, maximum: int = INT32_MAX) -> int:
    t = text.strip()
    # Strict decimal only: int() alone would also take "1_000" and non-ASCII digits.
    body = t[1:] if t[:1] in "+-" else t
    if not (body.isascii() and body.isdigit()):
        if t == "":
            raise RowError(f"{column}_missing", f"{column} is empty")
        raise RowError(f"{column}_not_integer", f"{column} is not an integer: {text!r}")
    value = int(t)
    if (minimum is not None and value < minimum) or value > maximum:
        lo = "" if minimum is None else f"{minimum}.."
        raise RowError(f"{column}_out_of_range", f"{column} {value} is out of range {lo}{maximum}")
    return value


def parse_float(text: str, column: str, *, minimum: float, maximum: float) -> float:
    t = text.strip()
    try:
        value = float(t)
    except ValueError:
        raise RowError(f"{column}_not_number", f"{column} is not a number: {text!r}") from None
    if "_" in t or not math.isfinite(value) or not minimum <= value <= maximum:
        raise RowError(f"{column}_out_of_range",
                       f"{column} {text.strip()!r} is not a number in {minimum:g}..{maximum:g}")
    return value


def clean_text(text: str) -> str | None:
    """Unescape HTML entities and trim; ``None`` when nothing is left."""
    t = html.unescape(text).strip() if "&" in text else text.strip()
    return t or None


def parse_genres(text: str) -> list[str] | None:
    if _null(text):
        return None
    seen: dict[str, None] = {}
    for g in html.unescape(text).split(","):
        g = g.strip()
        if g:
            seen.setdefault(g, None)
    return list(seen) or None


# --- row parsers (values arrive in the format's canonical column order) -----------------------

def parse_anime_row(values: Sequence[str]) -> dict:
    anime_id, name, genre, type_, episodes, rating, members = values
    aid = parse_int(anime_id, "anime_id", minimum=1)
    clean_name = clean_text(name)
    if clean_name is None:
        raise RowError("name_missing", "name is empty")
    ep = episodes.strip()
    return {
        "anime_id": aid,
        "name": clean_name,
        "genres": parse_genres(genre),
        "type": clean_text(type_),
        "episodes": None if ep == "" or ep.lower() == "unknown" else parse_int(ep, "episodes", minimum=0),
        "rating": None if _null(rating) else parse_float(rating, "rating", minimum=0.0, maximum=10.0),
        "members": None if _null(members) else parse_int(members, "members", minimum=0),
    }


_RATING_VALUES = {str(v): v for v in (-1, *range(1, 11))}


def parse_rating_row(values: Sequence[str]) -> tuple[int, int, int]:
    user_id, anime_id, rating = values
    # Fast path for the common clean row (this runs millions of times); anything else takes the
    # checked path below, which also says what is wrong.
    r = _RATING_VALUES.get(rating)
    if r is not None and user_id.isdecimal() and anime_id.isdecimal() and (user_id + anime_id).isascii():
        u, a = int(user_id), int(anime_id)
        if 0 < u <= INT32_MAX and 0 < a <= INT32_MAX:
            return u, a, r
    u = parse_int(user_id, "user_id", minimum=1)
    a = parse_int(anime_id, "anime_id", minimum=1)
    r = parse_int(rating, "rating", minimum=-INT32_MAX - 1)
    if r != -1 and not 1 <= r <= 10:
        raise RowError("rating_out_of_range", f"rating {r} is not -1 (no score) or 1..10")
    return u, a, r


SYNOPSIS_PLACEHOLDERS = (
    "no synopsis information has been added",
    "no synopsis has been added",
)


def parse_synopsis_row(values: Sequence[str]) -> tuple[int, str | None]:
    mal_id, synopsis = values
    aid = parse_int(mal_id, "MAL_ID", minimum=1)
    text = clean_text(synopsis)
    if text is not None and text.lower().startswith(SYNOPSIS_PLACEHOLDERS):
        text = None
    return aid, text


# --- formats ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CsvFormat:
    name: str
    # One entry per column the row parser needs, in its order; each a tuple of accepted header
    # names (lower case), the first being the canonical one. Other columns are ignored.
    columns: tuple[tuple[str, ...], ...]
    parse_row: Callable[[Sequence[str]], Any]
    description: str

    @property
    def canonical_header(self) -> str:
        return ",".join(c[0] for c in self.columns)


ANIME = CsvFormat("anime", (("anime_id",), ("name",), ("genre", "genres"), ("type",), ("episodes",), ("rating",),
                            ("members",)), parse_anime_row, "anime catalog (anime.csv)")
RATINGS = CsvFormat("ratings", (("user_id",), ("anime_id",), ("rating",)), parse_rating_row,
                    "user ratings (rating.csv)")
SYNOPSIS = CsvFormat("synopsis", (("mal_id", "anime_id"), ("sypnopsis", "synopsis")), parse_synopsis_row,
                     "synopses (anime_with_synopsis.csv)")
FORMATS = {f.name: f for f in (ANIME, RATINGS, SYNOPSIS)}


# --- sources ----------------------------------------------------------------------------------

class _Tap(io.RawIOBase):
    """Raw reader over any ``.read(n) -> bytes`` object that hashes and counts what passes."""

    def __init__(self, stream: Any):
        self._stream = stream
        self.sha = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        if not data:
            return 0
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise FormatError("expected a binary stream, got text from .read()")
        n = len(data)
        buffer[:n] = data
        self.sha.update(data)
        self.count += n
        return n


def _decoded_lines(binary: io.BufferedReader, tap: _Tap, report: ParseReport, bad_lines: set[int]) -> Iterator[str]:
    for n, raw in enumerate(binary, 1):
        report.lines = n
        report.bytes_read = tap.count
        try:
            yield raw.decode("utf-8-sig") if n == 1 else raw.decode("utf-8")  # -sig: drop a BOM
        except UnicodeDecodeError:
            if n == 1:
                raise FormatError("not UTF-8 text (the first line does not decode)") from None
            bad_lines.add(n)
            yield raw.decode("utf-8", errors="replace")
    report.bytes_read = tap.count
    report.sha256 = tap.sha.hexdigest()


def _text_lines(lines: Iterable[str | bytes], report: ParseReport, bad_lines: set[int]) -> Iterator[str]:
    sha = hashlib.sha256()
    for n, line in enumerate(lines, 1):
        report.lines = n
        if isinstance(line, (bytes, bytearray)):
            raw = bytes(line)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                if n == 1:
                    raise FormatError("not UTF-8 text (the first line does not decode)") from None
                bad_lines.add(n)
                line = raw.decode("utf-8", errors="replace")
        else:
            raw = line.encode("utf-8", errors="surrogatepass")
        sha.update(raw)
        report.bytes_read += len(raw)
        if n == 1 and line.startswith("\ufeff"):
            line = line[1:]
        yield line
    report.sha256 = sha.hexdigest()


@dataclass
class _Opened:
    lines: Iterator[str]
    close: Callable[[], None]
    name: str
    size: int | None


def open_source(source: Any, report: ParseReport, bad_lines: set[int]) -> _Opened:
    """Turn a path, a binary/text file object or an iterable of lines into an iterator of text lines."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            f: BinaryIO = open(path, "rb")
        except FileNotFoundError:
            raise FormatError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise FormatError(f"{path}: is a directory") from None
        except OSError as exc:
            raise FormatError(f"{path}: cannot open: {exc.strerror or exc}") from None
        tap = _Tap(f)
        return _Opened(_decoded_lines(io.BufferedReader(tap, buffer_size=1 << 16), tap, report, bad_lines),
                       f.close, str(path), os.fstat(f.fileno()).st_size)
    if isinstance(source, (bytes, bytearray)):
        raise TypeError("pass bytes as io.BytesIO(...) (a str or Path is taken as a file path)")
    name = str(getattr(source, "name", "") or f"<{type(source).__name__}>")
    if isinstance(source, io.TextIOBase):
        return _Opened(_text_lines(source, report, bad_lines), lambda: None, name, None)
    if hasattr(source, "read"):
        probe = source.read(0)
        if isinstance(probe, str):  # a text stream that is not an io.TextIOBase
            return _Opened(_text_lines(source, report, bad_lines), lambda: None, name, None)
        tap = _Tap(source)
        return _Opened(_decoded_lines(io.BufferedReader(tap, buffer_size=1 << 16), tap, report, bad_lines),
                       lambda: None, name, None)
    if isinstance(source, Iterable):
        return _Opened(_text_lines(source, report, bad_lines), lambda: None, name, None)
    raise TypeError(f"cannot read CSV from {type(source).__name__}")


# --- the parser -------------------------------------------------------------------------------

def _column_index(fmt: CsvFormat, header: list[str], name: str) -> list[int]:
    norm = [h.strip().lower() for h in header]
    if not any(norm):
        raise FormatError(f"{name}: the first line is empty; expected the {fmt.description} header "
                          f"{fmt.canonical_header!r}")
    first = norm[0]
    if first.lstrip("+-").isdigit():
        raise FormatError(f"{name}: no header line (line 1 looks like data: {','.join(header)[:80]!r}); "
                          f"expected the {fmt.description} header {fmt.canonical_header!r}")
    index, missing = [], []
    for aliases in fmt.columns:
        hit = next((norm.index(a) for a in aliases if a in norm), None)
        if hit is None:
            missing.append(aliases[0])
        else:
            index.append(hit)
    if missing:
        raise FormatError(f"{name}: not a {fmt.description} file: header {','.join(header)[:120]!r} lacks "
                          f"column(s) {', '.join(missing)}; expected {fmt.canonical_header!r}")
    dupes = [h for h, n in Counter(norm).items() if n > 1 and h in {a for c in fmt.columns for a in c}]
    if dupes:
        raise FormatError(f"{name}: header repeats column(s) {', '.join(dupes)}")
    return index


class CsvParser:
    """Iterate the cleaned records of one CSV source; see the module docstring.

    The header is read and checked in the constructor, so a :class:`FormatError` comes before
    anything is loaded. Iterating yields records; ``report`` fills in as it goes. Use as a
    context manager (or call ``close``) to close a file opened from a path.
    """

    def __init__(self, source: Any, fmt: CsvFormat | str, *, keep_rejections: int = 100, name: str | None = None):
        self.format = FORMATS[fmt] if isinstance(fmt, str) else fmt
        self.report = ParseReport(self.format.name, keep_rejections=keep_rejections)
        self._bad_lines: set[int] = set()
        opened = open_source(source, self.report, self._bad_lines)
        self.name = name or opened.name
        self.size = opened.size
        self._close = opened.close
        try:
            self._reader = csv.reader(opened.lines, strict=True)
            try:
                header = next(self._reader)
            except StopIteration:
                raise FormatError(f"{self.name}: empty file; expected the {self.format.description} header "
                                  f"{self.format.canonical_header!r}") from None
            except csv.Error as exc:
                raise FormatError(f"{self.name}: line 1 is not a CSV header: {exc}") from None
            if 1 in self._bad_lines:
                raise FormatError(f"{self.name}: not UTF-8 text")
            self.report.header = header
            self._index = _column_index(self.format, header, self.name)
            self._width = len(header)
            self._identity = self._index == list(range(len(self._index))) and self._width == len(self._index)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._close()

    def __enter__(self) -> CsvParser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self) -> Iterator[Any]:
        reader, report, parse_row = self._reader, self.report, self.format.parse_row
        index, width, identity, bad = self._index, self._width, self._identity, self._bad_lines
        last_line = reader.line_num
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                start = last_line + 1
                last_line = reader.line_num
                report.rows_read += 1
                report.reject(start, "bad_csv", f"malformed CSV: {exc}")
                continue
            start = last_line + 1
            last_line = reader.line_num
            if not fields or (len(fields) == 1 and _null(fields[0])):
                continue  # blank line
            report.rows_read += 1
            if len(fields) != width:
                report.reject(start, "wrong_field_count", f"expected {width} fields, got {len(fields)}",
                              ",".join(fields))
                continue
            if bad and any(n in bad for n in range(start, last_line + 1)):
                report.reject(start, "not_utf8", "not valid UTF-8", ",".join(fields))
                continue
            try:
                record = parse_row(fields if identity else [fields[i] for i in index])
            except RowError as exc:
                report.reject(start, exc.code, str(exc), ",".join(fields))
                continue
            report.rows_ok += 1
            yield record
        report.done = True
        self.close()


def parse(source: Any, fmt: CsvFormat | str, report_to: list[ParseReport] | None = None, **kw) -> Iterator[Any]:
    """Generator form of :class:`CsvParser`; appends the report to ``report_to`` if given.

    The header is checked on the first ``next()``.
    """
    with CsvParser(source, fmt, **kw) as parser:
        if report_to is not None:
            report_to.append(parser.report)
        yield from parser


def parse_text(text: str, fmt: CsvFormat | str, **kw) -> tuple[list[Any], ParseReport]:
    """Parse CSV held in a string (tests, small uploads): all records and the report."""
    parser = CsvParser(io.StringIO(text, newline=""), fmt, **kw)
    return list(parser), parser.report


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            sha.update(block)
    return sha.hexdigest()
