"""Finding the invoice QR code in an image: a photo, a screenshot, a rendered page, OFD Res/."""

from __future__ import annotations

import io
import math

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
    """Decode an image from untrusted bytes, its pixel count checked before decoding.

    A large JPEG (a 48-megapixel phone photo) is decoded at a reduced scale, which JPEG does
    cheaply; other formats over ``max_decode_pixels`` are refused.
    """
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        pixels = width * height
        if pixels > limits.max_image_pixels:
            raise FileTooLarge(f"image of {width}x{height} pixels")
        if pixels > limits.max_decode_pixels:
            if image.format != "JPEG":
                raise FileTooLarge(f"{image.format} image of {width}x{height} pixels")
            scale = math.ceil(math.sqrt(pixels / limits.max_decode_pixels))
            image.draft("L", (width // scale, height // scale))
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise HostileFile(f"image bomb: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BrokenFile(f"bad image: {exc}") from None
    return image.convert("L")


def image_partial(data: bytes, limits: Limits) -> Partial | None:
    """The QR fields of an image file."""
    return qr_partial(open_image(data, limits))
