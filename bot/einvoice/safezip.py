"""Reading a ZIP (an OFD package or a ZIP of invoices) in memory, within limits.

Names are checked before anything is decompressed: ``..``, absolute paths, drive letters and
NUL bytes are refused as path tricks. Declared sizes and ratios are checked up front, and every
read is capped again while it decompresses, since a header can lie.
"""

from __future__ import annotations

import io
import posixpath
import zipfile

from .errors import BrokenFile, FileTooLarge, HostileFile, UnsupportedFile
from .limits import MB, Limits


class Budget:
    """Bytes that may still be unpacked for one file, shared by nested archives."""

    def __init__(self, total: int) -> None:
        self.left = total

    def spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise FileTooLarge("archive unpacks to more than the limit")


def safe_name(name: str) -> str:
    """``name`` as a clean relative path, or HostileFile for a path trick."""
    unified = name.replace("\\", "/")
    clean = posixpath.normpath(unified.lstrip("/")) if unified else ""
    if (
        not clean
        or "\x00" in name
        or unified.startswith("/")
        or (len(unified) > 1 and unified[1] == ":")
        or clean == ".."
        or clean.startswith("../")
    ):
        raise HostileFile(f"unsafe path in archive: {name!r}")
    return clean


class SafeZip:
    """A checked archive: ``names`` are the clean member paths, ``read`` is bounded."""

    def __init__(self, data: bytes, limits: Limits, budget: Budget) -> None:
        self.limits = limits
        self.budget = budget
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
            raise BrokenFile(f"bad zip: {exc}") from None
        if len(infos) > limits.max_zip_entries:
            raise HostileFile(f"{len(infos)} entries in archive")
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            self._check(info)
            if not info.is_dir():
                self._members.setdefault(safe_name(info.filename), info)

    def _check(self, info: zipfile.ZipInfo) -> None:
        safe_name(info.filename)
        if info.file_size > self.limits.max_unpacked_bytes:
            raise FileTooLarge(f"{info.filename!r} declares {info.file_size} bytes")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MB and ratio > self.limits.max_zip_ratio:
            raise HostileFile(f"{info.filename!r} compression ratio {ratio:.0f}")

    @property
    def names(self) -> list[str]:
        return list(self._members)

    def has(self, name: str) -> bool:
        return name in self._members

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        """The member ``name``, decompressed no further than the limits allow."""
        limit = self.limits.max_part_bytes if max_bytes is None else max_bytes
        info = self._members.get(name)
        if info is None:
            raise BrokenFile(f"missing part {name!r}")
        if info.flag_bits & 0x1:
            raise UnsupportedFile("encrypted archive")
        try:
            with self._zip.open(info) as member:
                data = member.read(limit + 1)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise BrokenFile(f"bad part {name!r}: {exc}") from None
        if len(data) > limit:
            raise FileTooLarge(f"part {name!r} over {limit} bytes")
        self.budget.spend(len(data))
        return data
