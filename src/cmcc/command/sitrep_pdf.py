"""The SITREP as PDF, drawn by WeasyPrint from the standalone HTML document.

WeasyPrint needs Debian's pango (`make pdf` installs it). It is loaded on first use, so the
platform runs without it: a PDF asked for then fails with one clear message, and the HTML
report still works."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cmcc.core.errors import DomainError


class PdfUnavailable(DomainError):
    http_status = 503
    code = "pdf-unavailable"
    title = "PDF output is not available on this server"


@lru_cache(maxsize=1)
def _weasyprint() -> Any:
    try:
        import weasyprint  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # OSError: pango's shared libraries are missing
        raise PdfUnavailable(
            f"the PDF library cannot load ({str(exc).splitlines()[0]}); install Debian's "
            "libpango-1.0-0 and libpangoft2-1.0-0 (`make pdf`), or ask for format=html"
        ) from None
    return weasyprint


def pdf_available() -> bool:
    try:
        _weasyprint()
    except PdfUnavailable:
        return False
    return True


def to_pdf(html: str) -> bytes:
    """The PDF of a standalone HTML document (no base URL: nothing outside it is loaded)."""
    weasyprint = _weasyprint()
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=_no_fetch)
    pdf: bytes = document.write_pdf()
    return pdf


def _no_fetch(url: str, *_args: Any, **_kwargs: Any) -> dict[str, Any]:
    """The report loads nothing: every URL is refused (air-gapped, and no request forgery)."""
    raise ValueError(f"the SITREP loads no external resource ({url[:60]})")
