"""The input layer: every way a table, document or image can be wrong ends in one sentence that
names the file (and row and column) and the fix; what can be read is read right."""

import struct
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayesurv.errors import InputError
from bayesurv.tables import (
    Column,
    load_json,
    load_toml,
    open_image,
    parse_json,
    parse_table,
    parse_toml,
    read_table,
    read_text,
)

CURVE = [
    Column("time", aliases=("t", "x", "months")),
    Column("survival", aliases=("surv", "s", "y"), lower=0, upper=100),
]


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels (a few bytes of image data)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "text, time, survival, delimiter",
    [
        ("time,survival\n0,1\n12.5,0.8\n", [0, 12.5], [1, 0.8], ","),
        ("time;survival\n0;1\n12,5;0,8\n", [0, 12.5], [1, 0.8], ";"),
        ("0;1\n12,5;0,8\n", [0, 12.5], [1, 0.8], ";"),  # headerless, decimal commas
        ("Time\tSURV\n0\t1\n3,5\t0,9\n", [0, 3.5], [1, 0.9], "\t"),
        ("# digitized by hand\nT;S;\n0;1;\n1e1;0,5;\n", [0, 10], [1, 0.5], ";"),
        ("0,1\n12.5,0.8\n", [0, 12.5], [1, 0.8], ","),
        ('time,survival\n"12.5",0.8\n', [12.5], [0.8], ","),
    ],
)
def test_tables_are_read_as_people_save_them(text, time, survival, delimiter):
    df = parse_table(text, CURVE, source="c.csv", header="auto")
    assert list(df.columns) == ["time", "survival"]
    np.testing.assert_array_equal(df["time"], time)
    np.testing.assert_array_equal(df["survival"], survival)
    assert df.attrs["delimiter"] == delimiter
    assert df.index[0] == 1 and df.index.name == "row"  # 1-based data rows


@pytest.mark.parametrize(
    "text, match",
    [
        (
            "time,survival\n0,1\n12,5,0,8\n",
            "c.csv, row 2: the row has 4 fields.*decimal commas.*';'",
        ),
        ("time,survival\n0,1\ninf,0.8\n", "c.csv, row 2: time is 'inf', not a finite number"),
        ("time,survival\n0,nan\n", "row 1: survival is 'nan', not a finite number"),
        ("time,survival\n1e308,1\n", "row 1: time is 1e308, beyond 1e\\+09 in magnitude"),
        ("time,survival\n1,120\n", "row 1: survival is 120; it must be between 0 and 100"),
        ("time,survival\n1,\n", "row 1: survival is blank; write the number or delete the row"),
        ('time,survival\n"1,5",0.5\n', "'1,5' in a comma-separated file.*decimal point"),
        ("time;survival\n1.234,5;0,5\n", "thousands separator"),
        ("time,survival\n1,abc\n", "survival is 'abc', not a number; fix or delete that row"),
        ("time,survival\n", "has a header \\(time, survival\\) but no data rows"),
        ("", "c.csv is empty; give it the curve: a header time,survival"),
        ("# only a comment\n\n", "c.csv is empty"),
        ("a,b\n1,2\n", "has columns a, b but needs 'time', 'survival'; rename the columns"),
        ("t,x,survival\n1,2,0.5\n", "columns 't' and 'x' both mean 'time'"),
        ("time,,survival\n1,2,0.5\n", "column 2 has no name"),
        ("time,survival\n0,1\x00\n", "line 2: holds the control character"),
    ],
)
def test_bad_tables_get_one_sentence(text, match):
    with pytest.raises(InputError, match=match) as err:
        parse_table(text, CURVE, source="c.csv", what="curve", header=True)
    assert "\n" not in str(err.value)


def test_headers_need_names_when_required():
    with pytest.raises(
        InputError, match="first row .* holds numbers, not column names; add a header"
    ):
        parse_table("0,1\n1,0.5\n", CURVE, source="c.csv", header=True)


def test_integer_and_text_columns_and_extras():
    cols = [Column("time"), Column("at_risk", kind="integer", lower=0), Column("arm", kind="text")]
    df = parse_table("Time;At risk;Arm;Note\n0;100;A;x\n12;80;A;\n", cols, source="n.csv")
    assert df["at_risk"].dtype == np.int64 and df["at_risk"].tolist() == [100, 80]
    assert df["arm"].tolist() == ["A", "A"] and df["note"].tolist() == ["x", None]
    with pytest.raises(InputError, match="row 2: at_risk is 80.5, not a whole number"):
        parse_table("time,at_risk,arm\n0,100,A\n12,80.5,A\n", cols, source="n.csv")
    with pytest.raises(InputError, match="row 1: arm is blank"):
        parse_table("time,at_risk,arm\n0,100,\n", cols, source="n.csv")
    with pytest.raises(InputError, match="column 'note' is not one a table has"):
        parse_table("time,at_risk,arm,note\n0,1,A,x\n", cols, source="n.csv", extra="refuse")
    opt = [Column("time"), Column("upper", missing=True)]
    df = parse_table("time,upper\n1,\n2,NA\n3,4\n", opt, source="m.csv")
    assert np.isnan(df["upper"][:2]).all() and df["upper"].iloc[2] == 4


def test_row_and_size_limits(tmp_path):
    with pytest.raises(InputError, match="has 11 rows, more than the 10 a curve may have"):
        parse_table("t,s\n" + "1,1\n" * 11, CURVE, source="c.csv", what="curve", max_rows=10)
    big = tmp_path / "big.csv"
    big.write_text("time,survival\n" + "1,1\n" * 300)
    with pytest.raises(InputError, match="big.csv is 1,214 bytes, more than the 1,000 bytes"):
        read_table(big, CURVE, max_bytes=1000)


@pytest.mark.parametrize(
    "data, match",
    [
        ("time;survival\n0;1\n".encode("utf-16-le"), "UTF-16 text without a byte-order mark"),
        ("time;survival\n0;1\n".encode("utf-32"), "is UTF-32 text; save the curve as UTF-8"),
        ("Zeit,Überleben\n0,1\n".encode("latin-1"), "line 1: byte 0xDC is not UTF-8 .*'Ü'.*UTF-8"),
        (np.random.default_rng(1).bytes(3000), "is not a text file"),
        (b"time,survival\n0,1\n1\x002,0.5\n", "line 3: holds a NUL byte"),
        (b"\xff\xfe\x00", "not valid UTF-16"),
    ],
)
def test_encodings_other_than_utf8_and_utf16_are_refused_by_name(tmp_path, data, match):
    path = tmp_path / "c.csv"
    path.write_bytes(data)
    with pytest.raises(InputError, match=match) as err:
        read_table(path, CURVE, what="curve")
    assert "c.csv" in str(err.value) and "\n" not in str(err.value)


def test_utf8_bom_and_utf16_with_bom_are_read(tmp_path):
    for enc in ("utf-8-sig", "utf-16"):
        path = tmp_path / f"{enc}.csv"
        path.write_bytes("Time;Survival\n0;1\n2,5;0,9\n".encode(enc))
        df = read_table(path, CURVE)
        assert df["time"].tolist() == [0, 2.5] and df["survival"].tolist() == [1, 0.9]


def test_missing_paths(tmp_path):
    with pytest.raises(InputError, match="no such file; check the path to the curve"):
        read_text(tmp_path / "none.csv", what="curve")
    with pytest.raises(InputError, match="is a folder, not a file"):
        read_text(tmp_path, what="curve")


def test_documents_nested_thousands_deep_are_refused_before_the_parser_recurses(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 50_000 + "]" * 50_000)
    with pytest.raises(InputError, match="JSON nested 50000 levels deep, more than the 64"):
        load_json(deep)
    toml = tmp_path / "deep.toml"
    toml.write_text("a = " + "[" * 5_000 + "]" * 5_000 + "\n")
    with pytest.raises(InputError, match="TOML nested 5000 levels deep"):
        load_toml(toml)
    # brackets inside strings and comments are not nesting; table headers are shallow
    doc = parse_toml('[[ipd]]\nname = "[[[[[["  # ]]]]\nv = [[1, 2], [3]]\n', source="s.toml")
    assert doc == {"ipd": [{"name": "[[[[[[", "v": [[1, 2], [3]]}]}
    assert parse_json('{"a": "[[[[[[[[", "b": [[1]]}', source="x.json", max_depth=3)["b"] == [[1]]


@pytest.mark.parametrize(
    "text, match",
    [
        ('{"a": NaN}', "holds NaN, which JSON does not allow"),
        ('{"a": -Infinity}', "holds -Infinity"),
        ('{"a": 1e400}', "the number 1e400 is too large"),
        ('{"a": ', "is not valid JSON \\(line 1, column 7"),
    ],
)
def test_strict_json(text, match):
    with pytest.raises(InputError, match=match):
        parse_json(text, source="p.json")


def test_toml_refuses_nonfinite_and_bad_syntax():
    with pytest.raises(InputError, match="holds the value inf, not a finite number"):
        parse_toml("a = inf\n", source="s.toml")
    with pytest.raises(InputError, match="s.toml is not valid TOML"):
        parse_toml("a = \n", source="s.toml")


def test_an_image_claiming_40000_squared_pixels_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header(40_000, 40_000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PIL's DecompressionBombWarning must not escape
        with pytest.raises(InputError, match="claims 1,600,000,000 pixels, more than the"):
            open_image(path)
        path.write_bytes(png_header(9_000, 9_000))  # below PIL's error, above our limit
        with pytest.raises(InputError, match="claims 9,000 x 9,000 pixels"):
            open_image(path)
        path.write_bytes(png_header(12, 10))  # a header with too little data
        with pytest.raises(InputError, match="the image cannot be decoded"):
            open_image(path)
        path.write_bytes(b"not an image")
        with pytest.raises(InputError, match="is not an image bayesurv can read"):
            open_image(path)


def test_a_real_image_opens(tmp_path):
    from PIL import Image

    path = tmp_path / "ok.png"
    Image.new("RGB", (30, 20), "white").save(path)
    assert open_image(path).size == (30, 20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(alphabet=st.sampled_from(list('0123456789.,;\t-+eE \nainf#"xyt')), max_size=80)
    | st.text(max_size=60)
)
def test_fuzz_random_text_gives_a_table_or_an_input_error(text):
    try:
        df = parse_table(text, CURVE, source="f.csv", header="auto")
    except InputError as exc:
        assert "\n" not in str(exc) and "f.csv" in str(exc)
        return
    assert np.isfinite(df["time"]).all() and np.isfinite(df["survival"]).all()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_give_text_or_an_input_error(data):
    from bayesurv.tables import decode_text

    try:
        decode_text(data, source="f.csv")
    except InputError as exc:
        assert "\n" not in str(exc) and "f.csv" in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('[]{}"\\:,0123456789.eNaI ')), max_size=60))
def test_fuzz_json(text):
    try:
        parse_json(text, source="f.json")
    except InputError as exc:
        assert "\n" not in str(exc)


def test_docstring_examples():
    import doctest

    import bayesurv.tables

    res = doctest.testmod(bayesurv.tables, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0
