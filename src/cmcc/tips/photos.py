"""A tip's photo: really an image, not a bomb, and stored without any metadata.

The upload is opened with Pillow (JPEG, PNG or WebP only), its size in pixels is checked before
it is decoded, the orientation tag is applied, and the pixels are copied into a new image that
carries nothing else: no EXIF (camera, time, GPS), no XMP, no ICC profile, no comment. That
image is stored as JPEG, or as PNG when it has transparency.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from cmcc.core.errors import InvalidInput
from cmcc.tips.domain import MAX_PIXELS, MAX_SIDE, PhotoTooLarge

FORMATS = ("JPEG", "PNG", "WEBP")
FIELD = "body.photo"


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    media_type: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _open(raw: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(raw), formats=FORMATS)
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise InvalidInput.field(
                    FIELD, f"the image has too many pixels (at most {MAX_PIXELS:,})"
                )
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InvalidInput.field(FIELD, "the image has too many pixels") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise InvalidInput.field(
                FIELD, "not an image this service reads (send a JPEG, PNG or WebP photo)"
            ) from None
    return image


def clean(raw: bytes, max_bytes: int) -> CleanPhoto:
    """The photo re-encoded without metadata, or a 4xx refusal."""
    if len(raw) > max_bytes:
        raise PhotoTooLarge(f"{FIELD}: the photo is larger than {max_bytes} bytes")
    if not raw:
        raise InvalidInput.field(FIELD, "the photo is empty")
    image = _open(raw)
    try:
        upright = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError):
        upright = image
    alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    pixels = upright.convert("RGBA" if alpha else "RGB")
    pixels.thumbnail((MAX_SIDE, MAX_SIDE))
    bare = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())  # pixels, nothing else
    out = io.BytesIO()
    if alpha:
        bare.save(out, format="PNG", optimize=True)
        media_type = "image/png"
    else:
        bare.save(out, format="JPEG", quality=85)
        media_type = "image/jpeg"
    return CleanPhoto(out.getvalue(), media_type, bare.width, bare.height)
