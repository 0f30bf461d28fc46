"""Parsing, cleaning and validation of the three ingest CSV formats (no services needed)."""
from __future__ import annotations

import hashlib
import io
import itertools

import pandas as pd
import pytest

from ingest.csv_rows import ANIME, RATINGS, SYNOPSIS, CsvParser, FormatError, parse, parse_text

ANIME_HEADER = "anime_id,name,genre,type,episodes,rating,members"


def crlf(*lines: str) -> str:
    return "".join(line + "\r\n" for line in lines)


# --- catalog ----------------------------------------------------------------------------------

def test_anime_cleaning_crlf_entities_unknown_and_empty_fields():
    text = crlf(
        ANIME_HEADER,
        '9969,Gintama&#039;,"Action, Comedy , Historical,  Parody",TV,51,9.16,151266',
        '21,One Piece,"Action, Adventure",TV,Unknown,8.58,504862',
        '30484,Steins;Gate 0,,,,,60999',
        '1,&quot;Bungaku Shoujo&quot; Memoire,Drama,Special,3,7.5,100',
        '2,Tom &amp; Jerry &gt; Cats,"Comedy,,Comedy",Movie,unknown, 6 ,',
    )
    rows, report = parse_text(text, ANIME)
    assert report.rows_read == 5 and report.rows_ok == 5 and report.rows_rejected == 0
    gintama, one_piece, steins, bungaku, tom = rows
    assert gintama == {"anime_id": 9969, "name": "Gintama'", "genres": ["Action", "Comedy", "Historical", "Parody"],
                       "type": "TV", "episodes": 51, "rating": 9.16, "members": 151266}
    assert one_piece["episodes"] is None and one_piece["rating"] == 8.58
    assert steins == {"anime_id": 30484, "name": "Steins;Gate 0", "genres": None, "type": None, "episodes": None,
                      "rating": None, "members": 60999}
    assert bungaku["name"] == '"Bungaku Shoujo" Memoire'
    assert tom["name"] == "Tom & Jerry > Cats"
    assert tom["genres"] == ["Comedy"]  # empties dropped, repeats folded
    assert tom["episodes"] is None and tom["rating"] == 6.0 and tom["members"] is None
    assert all(isinstance(r["anime_id"], int) for r in rows)
    assert not any(isinstance(v, str) and ("\r" in v or "\n" in v) for r in rows for v in r.values())


def test_anime_bad_rows_are_reported_with_file_line_numbers():
    text = crlf(
        ANIME_HEADER,                                     # line 1
        "1,Good,Drama,TV,12,8.1,100",                     # 2
        "x1,Bad id,Drama,TV,12,8.1,100",                  # 3
        "2,Too few,Drama,TV,12",                          # 4
        '3,"Multi\r\nline name",Drama,TV,1,7.0,5',         # 5-6: one record over two lines
        "4,Rating high,Drama,TV,1,11.5,5",                # 7
        "5,,Drama,TV,1,7.0,5",                            # 8: empty name
        "6,Episodes,Drama,TV,twelve,7.0,5",               # 9
        "7,Members,Drama,TV,1,7.0,-3",                    # 10
        "8,Huge id,Drama,TV,1,7.0,99999999999",           # 11: beyond Cassandra int
        "9,NaN,Drama,TV,1,nan,5",                         # 12
        "",                                               # 13: blank, ignored
        "10,Last good,,TV,1,7.0,5",                       # 14
    )
    rows, report = parse_text(text, ANIME)
    assert [r["anime_id"] for r in rows] == [1, 3, 10]
    assert rows[1]["name"] == "Multi\r\nline name"
    got = {(rej.line, rej.code) for rej in report.rejections}
    assert got == {(3, "anime_id_not_integer"), (4, "wrong_field_count"), (7, "rating_out_of_range"),
                   (8, "name_missing"), (9, "episodes_not_integer"), (10, "members_out_of_range"),
                   (11, "members_out_of_range"), (12, "rating_out_of_range")}
    assert report.rows_read == 11 and report.rows_rejected == 8 and report.rows_ok == 3
    by_line = {rej.line: rej for rej in report.rejections}
    assert "expected 7 fields, got 5" in by_line[4].reason
    assert "'x1'" in by_line[3].reason
    assert str(by_line[3]).startswith("line 3: ")
    assert report.reasons["members_out_of_range"] == 2


def test_rejections_kept_are_capped_but_all_are_counted():
    text = crlf(ANIME_HEADER, *(f"x{i},n,g,TV,1,1.0,1" for i in range(50)))
    _, report = parse_text(text, ANIME, keep_rejections=5)
    assert report.rows_rejected == 50 and len(report.rejections) == 5
    assert [r.line for r in report.rejections] == [2, 3, 4, 5, 6]


def test_malformed_csv_row_is_rejected_and_parsing_goes_on():
    text = crlf(ANIME_HEADER, '1,"bad"quote,Drama,TV,1,7.0,5', "2,Fine,Drama,TV,1,7.0,5")
    rows, report = parse_text(text, ANIME)
    assert [r["anime_id"] for r in rows] == [2]
    assert report.rejections[0].line == 2 and report.rejections[0].code == "bad_csv"


# --- header validation --------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("", "empty file"),
    ("\r\n1,2,3\r\n", "first line is empty"),
    ("1,61,8\r\n2,5,9\r\n", "no header line"),
    ("user_id,anime_id,rating\r\n1,2,3\r\n", "lacks column(s) name, genre, type, episodes, members"),
    ("anime_id,name,name,genre,type,episodes,rating,members\r\n", "repeats column(s) name"),
])
def test_header_validation(text, message):
    with pytest.raises(FormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CsvParser(io.StringIO(text, newline=""), ANIME)


def test_header_in_other_order_with_extra_columns_and_bom():
    text = "\ufeffMembers, Name ,anime_id,extra,Rating,episodes,type,Genre\r\n100,Foo,7,x,8.0,2,TV,A\r\n"
    rows, _ = parse_text(text, ANIME)
    assert rows == [{"anime_id": 7, "name": "Foo", "genres": ["A"], "type": "TV", "episodes": 2, "rating": 8.0,
                     "members": 100}]


def test_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        CsvParser(tmp_path / "nope.csv", ANIME)


# --- ratings ------------------------------------------------------------------------------------

def test_ratings_validation():
    text = "\n".join([
        "user_id,anime_id,rating",  # 1
        "1,20,-1",                   # 2 ok
        "1,21,10",                   # 3 ok
        "1,22,0",                    # 4 out of range
        "1,23,11",                   # 5 out of range
        "1,24,8.0",                  # 6 not integer
        "u,25,8",                    # 7 not integer
        "0,26,8",                    # 8 id < 1
        "1,-27,8",                   # 9 id < 1
        "1,28",                      # 10 missing column
        " 2 , 29 , 7 ",              # 11 ok (whitespace tolerated)
        "1,1_000,8",                 # 12 not integer (python would take it)
        "3,2147483648,5",            # 13 beyond int32
        "1,30,-2",                   # 14 out of range
        "",
    ])
    rows, report = parse_text(text, RATINGS)
    assert rows == [(1, 20, -1), (1, 21, 10), (2, 29, 7)]
    assert {(r.line, r.code) for r in report.rejections} == {
        (4, "rating_out_of_range"), (5, "rating_out_of_range"), (6, "rating_not_integer"),
        (7, "user_id_not_integer"), (8, "user_id_out_of_range"), (9, "anime_id_out_of_range"),
        (10, "wrong_field_count"), (12, "anime_id_not_integer"), (13, "anime_id_out_of_range"),
        (14, "rating_out_of_range")}
    assert "not -1 (no score) or 1..10" in next(r.reason for r in report.rejections if r.line == 5)


def test_ratings_duplicates_are_all_yielded_in_file_order():
    # The parser streams; resolving duplicates (last wins) is the loader's job.
    rows, _ = parse_text("user_id,anime_id,rating\r\n1,5,3\r\n1,5,9\r\n", RATINGS)
    assert rows == [(1, 5, 3), (1, 5, 9)]


# --- synopses -----------------------------------------------------------------------------------

def test_synopsis_cleaning():
    text = crlf(
        "MAL_ID,Name,Score,Genders,sypnopsis",
        '1,Cowboy Bebop,8.78,"Action, Space","In the year 2071, &quot;Cowboys&quot; roam.\r\nSecond line."',
        "2,Nothing,1,Drama,No synopsis information has been added to this title. Help improve our database",
        "3,Nothing either,1,Drama,No synopsis has been added for this series yet.",
        "4,Empty,1,Drama,",
        "x,Bad,1,Drama,text",
    )
    rows, report = parse_text(text, SYNOPSIS)
    assert rows == [(1, 'In the year 2071, "Cowboys" roam.\r\nSecond line.'), (2, None), (3, None), (4, None)]
    assert [(r.line, r.code) for r in report.rejections] == [(7, "MAL_ID_not_integer")]


def test_synopsis_accepts_correctly_spelt_columns():
    rows, _ = parse_text("synopsis,anime_id\nHello,5\n", SYNOPSIS)
    assert rows == [(5, "Hello")]


# --- sources and streaming ----------------------------------------------------------------------

SMALL = crlf("user_id,anime_id,rating", "1,2,3", "4,5,6")
EXPECTED = [(1, 2, 3), (4, 5, 6)]


@pytest.mark.parametrize("make", [
    lambda b, p: p,                                           # path
    lambda b, p: str(p),                                      # path as str
    lambda b, p: io.BytesIO(b),                               # binary stream (an HTTP upload)
    lambda b, p: io.BufferedReader(io.BytesIO(b), 7),         # small-buffered binary stream
    lambda b, p: io.TextIOWrapper(io.BytesIO(b), "utf-8", newline=""),  # text stream
    lambda b, p: b.decode().splitlines(keepends=True),        # list of text lines
    lambda b, p: b.splitlines(keepends=True),                 # list of byte lines
    lambda b, p: (line for line in b.decode().splitlines()),  # generator, no line ends
], ids=["path", "str", "bytesio", "buffered", "text", "lines", "bytelines", "generator"])
def test_every_kind_of_source(tmp_path, make):
    data = ("\ufeff" + SMALL).encode()
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    with CsvParser(make(data, path), RATINGS) as parser:
        assert list(parser) == EXPECTED
    report = parser.report
    assert report.done and report.rows_read == 2 and report.sha256 is not None
    if report.bytes_read == len(data):  # byte-exact sources: the hash is the file's
        assert report.sha256 == hashlib.sha256(data).hexdigest()


def test_binary_sources_hash_the_exact_bytes(tmp_path):
    data = SMALL.encode()
    for source in (io.BytesIO(data), tmp_path / "f.csv"):
        if not isinstance(source, io.BytesIO):
            source.write_bytes(data)
        with CsvParser(source, RATINGS) as parser:
            list(parser)
        assert parser.report.sha256 == hashlib.sha256(data).hexdigest()
        assert parser.report.bytes_read == len(data) and parser.report.lines == 3


def test_parser_streams_an_endless_source():
    endless = itertools.chain(["user_id,anime_id,rating\r\n"], itertools.repeat("1,2,3\r\n"))
    first = list(itertools.islice(parse(endless, RATINGS), 3))
    assert first == [(1, 2, 3)] * 3


def test_invalid_utf8_row_is_rejected_but_header_must_decode():
    data = b"user_id,anime_id,rating\n1,2,3\n1,\xff\xfe,4\n5,6,7\n"
    rows, report = None, None
    with CsvParser(io.BytesIO(data), RATINGS) as parser:
        rows = list(parser)
        report = parser.report
    assert rows == [(1, 2, 3), (5, 6, 7)]
    assert [(r.line, r.code) for r in report.rejections] == [(3, "not_utf8")]
    with pytest.raises(FormatError, match="UTF-8"):
        CsvParser(io.BytesIO(b"\xff\xfeu\x00s\x00e\x00r\x00\n"), RATINGS)


def test_str_source_is_a_path_not_csv_text():
    with pytest.raises(FormatError, match="no such file"):
        CsvParser("user_id,anime_id,rating", RATINGS)


def test_real_catalog_parses_cleanly():
    from config import load_settings
    path = load_settings().anime_csv  # the shared data is part of every checkout's surroundings
    with CsvParser(path, ANIME) as parser:
        rows = list(parser)
    assert parser.report.rows_rejected == 0 and len(rows) == 12_294
    by_id = {r["anime_id"]: r for r in rows}
    assert by_id[9969]["name"] == "Gintama'"
    assert by_id[21]["episodes"] is None
    assert not any("&#039;" in r["name"] or "&quot;" in r["name"] for r in rows)


# --- whole files as frames (ingest.frames) ------------------------------------------------------

def test_ratings_frame_applies_the_parser_rules_and_keeps_the_last_duplicate(tmp_path):
    from ingest.frames import read_ratings
    path = tmp_path / "r.csv"
    path.write_text(crlf("user_id,anime_id,rating", "1,5,3", "1,6,-1", "1,5,0", "2,5,8.0", "1,5,9", "2,7,4", "2,7,2"))
    reports = []
    frame = read_ratings(path, report_to=reports)
    assert frame.values.tolist() == [[1, 6, -1], [1, 5, 9], [2, 7, 2]]
    assert frame.dtypes.astype(str).tolist() == ["int32", "int32", "int16"]
    assert reports[0].rows_rejected == 2
    assert dict(reports[0].reasons) == {"rating_out_of_range": 1, "rating_not_integer": 1}


def test_ratings_frame_of_a_file_without_valid_rows_is_empty_with_its_columns(tmp_path):
    from ingest.frames import read_ratings
    path = tmp_path / "r.csv"
    path.write_text(crlf("user_id,anime_id,rating", "1,5,11"))
    frame = read_ratings(path)
    assert frame.empty and frame.columns.tolist() == ["user_id", "anime_id", "rating"]


def test_ratings_frame_rejects_a_file_of_another_format(tmp_path):
    from ingest.frames import read_ratings
    path = tmp_path / "a.csv"
    path.write_text(crlf(ANIME_HEADER, "1,A,Drama,TV,1,7.0,5"))
    with pytest.raises(FormatError, match="lacks column"):
        read_ratings(path)


def test_catalog_frame_joins_synopses_and_keeps_the_last_row_of_a_title(tmp_path):
    from ingest.frames import read_catalog
    anime, synopsis = tmp_path / "anime.csv", tmp_path / "synopsis.csv"
    anime.write_text(crlf(ANIME_HEADER, "1,Old name,Drama,TV,12,7.0,5", "2,Tom &amp; Jerry,,Movie,Unknown,,",
                          "1,New name,\"Action, Drama\",TV,13,7.5,6", "x,Bad,Drama,TV,1,1.0,1"))
    synopsis.write_text(crlf("MAL_ID,sypnopsis", "1,A story.", "1,No synopsis has been added for this series yet.",
                             "2,No synopsis information has been added to this title."))
    catalog = read_catalog(anime, synopsis)
    assert catalog["anime_id"].tolist() == [2, 1]
    tom, new = catalog.to_dict("records")
    assert new["name"] == "New name" and new["genres"] == ["Action", "Drama"] and new["episodes"] == 13
    assert new["synopsis"] == "A story."            # a later placeholder does not erase the text
    assert tom["name"] == "Tom & Jerry" and tom["genres"] is None
    assert pd.isna(tom["episodes"]) and pd.isna(tom["rating"]) and pd.isna(tom["synopsis"])
    assert read_catalog(anime)["synopsis"].isna().all()
    assert read_catalog(anime, tmp_path / "missing.csv")["synopsis"].isna().all()
