"""Our ``pbbp2.Frame`` codec against lark-oapi's generated module, in both directions."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.platforms.feishu import frames
from bot.platforms.feishu.frames import Frame, FrameError, Header

pbbp2 = pytest.importorskip("lark_oapi.ws.pb.pbbp2_pb2")

texts = st.text(max_size=40)
headers = st.lists(st.builds(Header, texts, texts), max_size=8).map(tuple)
ours = st.builds(
    Frame,
    seq_id=st.integers(0, 2**64 - 1),
    log_id=st.integers(0, 2**64 - 1),
    service=st.integers(-(2**31), 2**31 - 1),
    method=st.integers(-(2**31), 2**31 - 1),
    headers=headers,
    payload_encoding=texts,
    payload_type=texts,
    payload=st.binary(max_size=2000),
    log_id_new=texts,
)


def reference(frame: Frame) -> pbbp2.Frame:
    theirs = pbbp2.Frame(SeqID=frame.seq_id, LogID=frame.log_id, service=frame.service,
                         method=frame.method)
    for header in frame.headers:
        added = theirs.headers.add()
        added.key, added.value = header.key, header.value
    if frame.payload_encoding:
        theirs.payload_encoding = frame.payload_encoding
    if frame.payload_type:
        theirs.payload_type = frame.payload_type
    if frame.payload:
        theirs.payload = frame.payload
    if frame.log_id_new:
        theirs.LogIDNew = frame.log_id_new
    return theirs


def as_ours(theirs: pbbp2.Frame) -> Frame:
    return Frame(theirs.SeqID, theirs.LogID, theirs.service, theirs.method,
                 tuple(Header(h.key, h.value) for h in theirs.headers), theirs.payload_encoding,
                 theirs.payload_type, theirs.payload, theirs.LogIDNew)


@settings(max_examples=300, deadline=None)
@given(ours)
def test_what_we_encode_lark_parses_to_the_same_frame(frame: Frame) -> None:
    theirs = pbbp2.Frame()
    theirs.ParseFromString(frames.encode(frame))
    assert as_ours(theirs) == frame


@settings(max_examples=300, deadline=None)
@given(ours)
def test_what_lark_encodes_we_decode_to_the_same_frame(frame: Frame) -> None:
    assert frames.decode(reference(frame).SerializeToString()) == frame


@settings(max_examples=300, deadline=None)
@given(ours)
def test_our_bytes_are_larks_bytes(frame: Frame) -> None:
    assert frames.encode(frame) == reference(frame).SerializeToString()


def test_a_data_frame_with_headers_round_trips() -> None:
    frame = Frame(1, 2, 7, frames.METHOD_DATA,
                  (Header("type", "event"), Header("message_id", "m1"), Header("sum", "1")),
                  payload=b'{"schema":"2.0"}', log_id_new="n")
    decoded = frames.decode(frames.encode(frame))
    assert decoded == frame
    assert decoded.header("message_id") == "m1"
    assert decoded.header("missing") is None


def test_the_first_of_duplicate_headers_wins() -> None:
    frame = Frame(headers=(Header("type", "ping"), Header("type", "pong")))
    assert frames.decode(frames.encode(frame)).header("type") == "ping"


def test_an_empty_payload_and_a_zero_frame() -> None:
    empty = Frame()
    data = frames.encode(empty)
    assert data == b"\x08\x00\x10\x00\x18\x00\x20\x00"  # the four required fields, all zero
    assert frames.decode(data) == empty
    theirs = pbbp2.Frame(SeqID=0, LogID=0, service=0, method=0, payload=b"")
    assert frames.decode(theirs.SerializeToString()).payload == b""


def test_a_large_payload() -> None:
    payload = bytes(range(256)) * 16 * 1024  # 4 MiB
    frame = Frame(seq_id=2**63, service=-1, method=1, payload=payload)
    theirs = pbbp2.Frame()
    theirs.ParseFromString(frames.encode(frame))
    assert theirs.payload == payload
    assert theirs.service == -1
    assert frames.decode(theirs.SerializeToString()) == frame


def test_unknown_fields_are_skipped() -> None:
    known = frames.encode(Frame(seq_id=5, method=1, payload=b"x"))
    unknown = (
        b"\x50\x96\x01"  # field 10, varint 150
        b"\x5a\x03abc"  # field 11, length-delimited
        b"\x61" + b"\x00" * 8  # field 12, fixed64
        + b"\x6d" + b"\x00" * 4  # field 13, fixed32
    )
    assert frames.decode(unknown + known + unknown) == Frame(seq_id=5, method=1, payload=b"x")
    theirs = pbbp2.Frame()
    theirs.ParseFromString(unknown + known)  # the reference agrees the bytes are valid
    assert theirs.SeqID == 5


def test_unknown_fields_inside_a_header_are_skipped() -> None:
    header = b"\x0a\x01k\x18\x01\x12\x01v"  # key, an unknown field 3, value
    data = frames.encode(Frame()) + b"\x2a" + bytes([len(header)]) + header
    assert frames.decode(data).headers == (Header("k", "v"),)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x08", "truncated varint"),
        (b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "longer than 10 bytes"),
        (b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", "exceeds 64 bits"),
        (b"\x42\x05ab", "field 8 is truncated"),
        (b"\x42\xff\xff\xff\xff\x0f", "field 8 is truncated"),
        (b"\x0a\x01x", "field 1 is not a varint"),
        (b"\x40\x01", "field 8 is not length-delimited"),
        (b"\x4a\x02\xff\xfe", "field 9 is not UTF-8"),
        (b"\x2a\x03\x0a\x01\xff", "field 1 is not UTF-8"),
        (b"\x2a\x02\x08\x01", "header field 1 is not length-delimited"),
        (b"\x2a\x02\x0a\x05", "truncated"),
        (b"\x0b\x0c", "unsupported wire type 3"),
        (b"\x00\x00", "field number 0"),
        (b"\x61\x00\x00", "field 12 is truncated"),
    ],
)
def test_malformed_bytes_are_refused_with_our_error(data: bytes, reason: str) -> None:
    with pytest.raises(FrameError, match=reason):
        frames.decode(data)


def test_oversized_frames_are_refused_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames, "MAX_FRAME_BYTES", 100)
    with pytest.raises(FrameError, match="exceeds 100"):
        frames.decode(b"\x00" * 101)
    with pytest.raises(FrameError, match="exceeds 100"):
        frames.encode(Frame(payload=b"x" * 100))


@pytest.mark.parametrize(
    "frame",
    [Frame(seq_id=-1), Frame(log_id=2**64), Frame(service=2**31), Frame(method=-(2**31) - 1)],
)
def test_out_of_range_numbers_are_refused_on_encode(frame: Frame) -> None:
    with pytest.raises(FrameError, match="outside"):
        frames.encode(frame)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_our_error(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        frames.decode(data)


@settings(max_examples=300, deadline=None)
@given(ours)
def test_a_frame_missing_its_last_byte_is_refused(frame: Frame) -> None:
    """Whatever the last field is (varint or length-delimited), one byte short cuts it."""
    with pytest.raises(FrameError, match="truncated"):
        frames.decode(frames.encode(frame)[:-1])
