"""Finding the invoice QR code in an image: a photo, a screenshot, a rendered page, OFD Res/."""

from __future__ import annotations

import io
import warnings

import zxingcpp
from PIL import Image

from .errors import BrokenFile, FileTooLarge, HostileFile
from .kinds import parse_qr
from .limits import Limits
from .merge import Partial
from .model import Source


def qr_partial(image: Image.Image) -> Partial | None:
    """The invoice QR fields of the first invoice QR code in ``image``, or None."""
    for result in zxingcpp.read_barcodes(image):
        values = parse_qr(result.text)
        if values is not None:
            partial = Partial(Source.QR)
            for name, value in values.items():
                partial.set(name, value)
            return partial
    return None


def open_image(data: bytes, limits: Limits) -> Image.Image:
    """Decode an image from untrusted bytes, its pixel count checked before decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > limits.max_image_pixels:
                raise FileTooLarge(f"image of {width}x{height} pixels")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise HostileFile(f"image bomb: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BrokenFile(f"bad image: {exc}") from None
    return image.convert("L")


def image_partial(data: bytes, limits: Limits) -> Partial | None:
    """The QR fields of an image file."""
    return qr_partial(open_image(data, limits))
