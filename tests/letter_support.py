"""Reading letters back: a PDF's words (pypdf) and the sizes its text is drawn at."""

from __future__ import annotations

import io
import re
from typing import Any

from pypdf import PdfReader

RESTRICTIONS: list[dict[str, Any]] = [
    {
        "kind": "call_windows",
        "windows": [{"days": ["tue", "thu"], "start": "09:00", "end": "12:00"}],
        "max_calls": 1,
        "per": "week",
    },
    {"kind": "spoc", "name": "Jo Bloggs", "phone": "+441772000001"},
    {"kind": "recorded"},
    {
        "kind": "written_only",
        "email": "casework@lancashire-pcc.example.org",
        "postal_address": "PO Box 123, Preston PR1 2AB",
    },
]


def pdf_text(pdf: bytes) -> str:
    """Every page's text, with runs of white space (line breaks too) as one space, a word
    broken after a hyphen at a line's end joined again, and no list bullets."""
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    text = re.sub(r"-[ \t]*\n\s*", "-", text.replace("\u2022", " "))
    return re.sub(r"\s+", " ", text)


def text_sizes_pt(pdf: bytes) -> list[float]:
    """The size, in points, each run of words is drawn at (font size times the scale of
    the text and page matrices)."""
    sizes: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, font_size: float) -> None:
        if text.strip():
            sizes.append(round(font_size * abs(cm[3]) * abs(tm[3]), 1))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
    return sizes
