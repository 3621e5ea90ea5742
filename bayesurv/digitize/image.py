"""Load a figure as an RGB pixel array: PNG, JPEG (anything Pillow reads) or one page of a PDF.

Transparent pixels are composited on white, as a viewer shows them. A PDF page is rendered with
pypdfium2 (no system binary) at ``dpi`` dots per inch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from bayesurv.errors import InputError

MIN_SIDE = 50
"""Smallest width or height (pixels) in which a plot frame can still be found."""


def _is_pdf(path: Path) -> bool:
    if path.suffix.lower() == ".pdf":
        return True
    with path.open("rb") as handle:
        return handle.read(5) == b"%PDF-"


def _render_pdf_page(path: Path, page: int, dpi: float) -> Image.Image:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise InputError(
            f"{path}: not a readable PDF ({exc}); export the figure again or give a PNG."
        ) from None
    try:
        n_pages = len(pdf)
        if not 1 <= page <= n_pages:
            raise InputError(
                f"{path}: has {n_pages} page(s), so --page {page} does not exist; "
                f"give a page from 1 to {n_pages}."
            )
        return pdf[page - 1].render(scale=dpi / 72.0).to_pil()
    finally:
        pdf.close()


def load_image(path: str | Path, page: int | None = None, dpi: float = 150.0) -> np.ndarray:
    """Read a figure file into an ``(height, width, 3)`` uint8 RGB array.

    Parameters
    ----------
    path
        PNG, JPEG (or another format Pillow reads) or PDF file.
    page
        1-based page of a PDF; only for PDF files (default: the first page).
    dpi
        Resolution at which a PDF page is rendered.

    Raises
    ------
    InputError
        The file is missing, corrupt, empty, too small, or ``page`` does not fit the file.

    Examples
    --------
    >>> rgb = load_image("km.png")  # doctest: +SKIP
    >>> rgb.shape  # doctest: +SKIP
    (600, 800, 3)
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the figure's file (PNG, JPEG or PDF).")
    if not path.is_file():
        raise InputError(f"{path}: no such file; check the path to the figure.")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty; give a PNG, JPEG or PDF of the figure.")
    if _is_pdf(path):
        image = _render_pdf_page(path, 1 if page is None else page, dpi)
    else:
        if page is not None and page != 1:
            raise InputError(
                f"{path}: --page applies to PDF files only; leave it out for an image file."
            )
        from bayesurv.tables import open_image

        image = open_image(path)  # the header's pixel count checked before decoding
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise InputError(
            f"{path}: the image is only {rgb.shape[1]}x{rgb.shape[0]} pixels; "
            f"give a figure at least {MIN_SIDE} pixels on each side."
        )
    return rgb
