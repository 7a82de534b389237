"""Invoice reading: median and p99 time and peak Python memory to read each format.

Run ``.venv/bin/python bench/einvoice.py [rounds]``. Files come from the test suite's
generators (fictional invoices). Each format is read ``rounds`` times (default 60) for timing,
then once more under tracemalloc for the peak of Python allocations (pdfium's own buffers are
not traced; the PDF pre-flight keeps them bounded). The baseline, measured in the same run, is
defusedxml parsing the 数电 XML alone; the ratio column says how many baselines one read costs.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from defusedxml.ElementTree import fromstring

from bot.einvoice import read_invoice
from tests.einvoice.gen_ofd import invoice_ofd
from tests.einvoice.gen_pdf import invoice_pdf, photo_jpeg, screenshot_png, with_attachment
from tests.einvoice.gen_xml import einvoice_xml, xbrl_xml
from tests.einvoice.specs import DIGITAL_SPECIAL, E_NORMAL, RAILWAY


def _files() -> dict[str, bytes]:
    pdf = invoice_pdf(DIGITAL_SPECIAL)
    return {
        "xml 数电": einvoice_xml(DIGITAL_SPECIAL),
        "xml xbrl (railway)": xbrl_xml(RAILWAY),
        "ofd 数电 (tags+qr)": invoice_ofd(DIGITAL_SPECIAL),
        "ofd older (attachment)": invoice_ofd(E_NORMAL, "older"),
        "pdf 数电 (qr+text)": pdf,
        "pdf older labels-first": invoice_pdf(E_NORMAL, labels_first=True),
        "pdf no qr (text only)": invoice_pdf(DIGITAL_SPECIAL, qr=False),
        "pdf railway (xbrl)": with_attachment(invoice_pdf(RAILWAY), "0", xbrl_xml(RAILWAY)),
        "photo jpeg (qr)": photo_jpeg(pdf),
        "screenshot png (qr)": screenshot_png(pdf),
    }


def _times(action: Callable[[], object], rounds: int) -> list[float]:
    action()  # warm up
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def _peak(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    files = _files()
    xml = files["xml 数电"]
    base = statistics.median(_times(lambda: fromstring(xml, forbid_dtd=True), rounds * 5))
    print(f"einvoice read, {rounds} rounds each; baseline defusedxml parse {base * 1e6:.0f} µs")
    print(
        f"{'format':26} {'bytes':>8} {'median ms':>10} {'p99 ms':>8} {'peak KiB':>9} {'ratio':>7}"
    )
    for name, data in files.items():
        samples = _times(lambda data=data: read_invoice(data), rounds)
        median = statistics.median(samples)
        peak = _peak(lambda data=data: read_invoice(data))
        print(
            f"{name:26} {len(data):>8} {median * 1e3:>10.2f} {_p99(samples) * 1e3:>8.2f} "
            f"{peak / 1024:>9.0f} {median / base:>7.0f}x"
        )


if __name__ == "__main__":
    main()
