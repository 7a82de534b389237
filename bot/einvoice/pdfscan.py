"""A pre-flight pass over a PDF's raw bytes: Flate streams must not inflate past the budget.

pdfium inflates a stream whole before anyone can ask how big it is (an attachment's size, a
page's content), so a 400 KB file can make it allocate 400 MB. This pass inflates every
``/FlateDecode`` stream in small chunks, discarding the output, and refuses the file once the
total passes :attr:`Limits.max_pdf_inflated_bytes`. That also bounds the time pdfium spends
drawing page 1 (about 0.1 s per MB of operators). Damaged streams are left for pdfium to judge.
"""

from __future__ import annotations

import re
import zlib

from .errors import HostileFile
from .limits import Limits

_STREAM = re.compile(rb"stream\r?\n")
_CHUNK = 1 << 16
_MAX_STREAMS = 20_000


def _inflated_size(data: bytes, start: int, end: int, budget: int) -> int:
    """What the Flate stream ``data[start:end]`` inflates to, counted no further than ``budget``."""
    inflater = zlib.decompressobj()
    total, pending = 0, data[start:end]
    try:
        while pending and total <= budget and not inflater.eof:
            out = inflater.decompress(pending, _CHUNK)
            if not out and inflater.unconsumed_tail == pending:
                break  # no progress: trailing bytes after the stream, or a stuck state
            total += len(out)
            pending = inflater.unconsumed_tail
    except zlib.error:
        return total
    return total


def check_streams(data: bytes, limits: Limits) -> None:
    """Raise HostileFile if the PDF's Flate streams inflate to more than the limit."""
    budget = limits.max_pdf_inflated_bytes
    position, seen = 0, 0
    while seen < _MAX_STREAMS:
        match = _STREAM.search(data, position)
        if match is None:
            return
        end = data.find(b"endstream", match.end())
        if end < 0:
            return
        seen += 1
        header = data[max(0, match.start() - 1024) : match.start()]
        header = header[header.rfind(b" obj") + 1 :] if b" obj" in header else header
        if b"/FlateDecode" in header or b"/Fl " in header or b"/Fl]" in header:
            budget -= _inflated_size(data, match.end(), end, budget)
            if budget < 0:
                raise HostileFile("PDF streams inflate past the limit")
        position = end + 9
