"""The long connection's wire format: protobuf ``pbbp2.Frame``, encoded and decoded by hand.

One message (and its ``Header``) is all Feishu sends, so a few dozen lines replace the SDK's
vendored protobuf runtime. The schema (proto2)::

    message Header { required string key = 1; required string value = 2; }
    message Frame {
      required uint64 SeqID = 1; required uint64 LogID = 2;
      required int32 service = 3; required int32 method = 4;
      repeated Header headers = 5;
      optional string payload_encoding = 6; optional string payload_type = 7;
      optional bytes payload = 8; optional string LogIDNew = 9;
    }

Decoding is strict about structure and lenient about content: unknown fields are skipped (as
protobuf does), a missing field reads as its default, and anything truncated, oversized or
mis-typed raises :class:`FrameError` rather than an arbitrary exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_FRAME_BYTES = 16 * 1024 * 1024
METHOD_CONTROL = 0  # ping / pong
METHOD_DATA = 1  # event / card

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5
_U64 = (1 << 64) - 1


class FrameError(ValueError):
    """Bytes that are not a well-formed ``pbbp2.Frame``."""


@dataclass(frozen=True, slots=True)
class Header:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Frame:
    seq_id: int = 0
    log_id: int = 0
    service: int = 0
    method: int = 0
    headers: tuple[Header, ...] = ()
    payload_encoding: str = ""
    payload_type: str = ""
    payload: bytes = b""
    log_id_new: str = ""
    # The header values by key (the first of duplicates wins, as the SDK's lookup does).
    _index: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, str] = {}
        for header in self.headers:
            index.setdefault(header.key, header.value)
        object.__setattr__(self, "_index", index)

    def header(self, key: str) -> str | None:
        return self._index.get(key)


def encode(frame: Frame) -> bytes:
    """The frame's protobuf bytes; the required fields always, the optional ones when set."""
    out = bytearray()
    _varint_field(out, 1, _unsigned(frame.seq_id, 64, "SeqID"))
    _varint_field(out, 2, _unsigned(frame.log_id, 64, "LogID"))
    _varint_field(out, 3, _int32(frame.service, "service"))
    _varint_field(out, 4, _int32(frame.method, "method"))
    for header in frame.headers:
        body = bytearray()
        _bytes_field(body, 1, header.key.encode())
        _bytes_field(body, 2, header.value.encode())
        _bytes_field(out, 5, bytes(body))
    for number, text in ((6, frame.payload_encoding), (7, frame.payload_type)):
        if text:
            _bytes_field(out, number, text.encode())
    if frame.payload:
        _bytes_field(out, 8, frame.payload)
    if frame.log_id_new:
        _bytes_field(out, 9, frame.log_id_new.encode())
    if len(out) > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {len(out)} bytes exceeds {MAX_FRAME_BYTES}")
    return bytes(out)


def decode(data: bytes) -> Frame:
    """Parse one frame; :class:`FrameError` for anything that is not one."""
    if len(data) > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {len(data)} bytes exceeds {MAX_FRAME_BYTES}")
    seq_id = log_id = service = method = 0
    headers: list[Header] = []
    texts = {6: "", 7: "", 9: ""}
    payload = b""
    for number, wire, value in _fields(memoryview(data)):
        if number in (1, 2, 3, 4):
            if not isinstance(value, int) or wire != _VARINT:
                raise FrameError(f"field {number} is not a varint")
            if number == 1:
                seq_id = value
            elif number == 2:
                log_id = value
            elif number == 3:
                service = _as_int32(value)
            else:
                method = _as_int32(value)
        elif number in (5, 6, 7, 8, 9):
            if not isinstance(value, bytes) or wire != _BYTES:
                raise FrameError(f"field {number} is not length-delimited")
            if number == 5:
                headers.append(_header(value))
            elif number == 8:
                payload = value
            else:
                texts[number] = _text(value, number)
        # any other field number: unknown, skipped
    return Frame(seq_id, log_id, service, method, tuple(headers), texts[6], texts[7], payload,
                 texts[9])


def _header(data: bytes) -> Header:
    key = value = ""
    for number, wire, raw in _fields(memoryview(data)):
        if number in (1, 2):
            if not isinstance(raw, bytes) or wire != _BYTES:
                raise FrameError(f"header field {number} is not length-delimited")
            if number == 1:
                key = _text(raw, number)
            else:
                value = _text(raw, number)
    return Header(key, value)


def _fields(data: memoryview) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for each field; fixed-width values come as bytes."""
    position, end = 0, len(data)
    while position < end:
        tag, position = _read_varint(data, position)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise FrameError("field number 0")
        if wire == _VARINT:
            value, position = _read_varint(data, position)
            yield number, wire, value
            continue
        if wire == _BYTES:
            size, position = _read_varint(data, position)
        elif wire == _FIXED64:
            size = 8
        elif wire == _FIXED32:
            size = 4
        else:  # groups (3, 4) are deprecated and never sent; 6 and 7 do not exist
            raise FrameError(f"unsupported wire type {wire} in field {number}")
        if size > end - position:
            raise FrameError(f"field {number} is truncated")
        yield number, wire, bytes(data[position : position + size])
        position += size


def _read_varint(data: memoryview, position: int) -> tuple[int, int]:
    result = shift = 0
    for offset in range(10):
        if position + offset >= len(data):
            raise FrameError("truncated varint")
        byte = data[position + offset]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if result > _U64:
                raise FrameError("varint exceeds 64 bits")
            return result, position + offset + 1
        shift += 7
    raise FrameError("varint longer than 10 bytes")


def _text(raw: bytes, number: int) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise FrameError(f"field {number} is not UTF-8") from exc


def _as_int32(value: int) -> int:
    """A varint read as int32: negative numbers arrive sign-extended to 64 bits."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _unsigned(value: int, bits: int, name: str) -> int:
    if not 0 <= value < 1 << bits:
        raise FrameError(f"{name} {value} is outside uint{bits}")
    return value


def _int32(value: int, name: str) -> int:
    if not -(1 << 31) <= value < 1 << 31:
        raise FrameError(f"{name} {value} is outside int32")
    return value & _U64  # two's complement over 64 bits, as protobuf writes negative int32


def _varint_field(out: bytearray, number: int, value: int) -> None:
    _write_varint(out, number << 3 | _VARINT)
    _write_varint(out, value)


def _bytes_field(out: bytearray, number: int, value: bytes) -> None:
    _write_varint(out, number << 3 | _BYTES)
    _write_varint(out, len(value))
    out += value


def _write_varint(out: bytearray, value: int) -> None:
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
