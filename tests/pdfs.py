"""Real PDFs for tests, made with fpdf2: a text layer with running headers, a scan, a locked one."""

from __future__ import annotations

import io

from fpdf import FPDF
from PIL import Image

HEADER = "ACME Developer Agreement"


def text_pdf(paragraphs: list[str], *, per_page: int = 3, password: str | None = None) -> bytes:
    """Paragraphs laid out `per_page` to a page, each page with a running header and number."""
    pdf = FPDF()
    if password:
        pdf.set_encryption(owner_password="owner-" + password, user_password=password)
    pdf.set_font("Helvetica", size=11)
    for index, paragraph in enumerate(paragraphs):
        if index % per_page == 0:
            pdf.add_page()
            pdf.cell(0, 8, HEADER, new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
    for number in range(1, pdf.pages_count + 1):
        pdf.page = number
        pdf.set_y(-15)
        pdf.cell(0, 8, f"Page {number} of {pdf.pages_count}", align="C")
    return bytes(pdf.output())


def image_only_pdf(pages: int = 2) -> bytes:
    """A scanned document: pages that are pictures, with no text layer."""
    pdf = FPDF()
    scan = io.BytesIO()
    Image.new("L", (400, 560), 230).save(scan, "PNG")
    for _ in range(pages):
        pdf.add_page()
        pdf.image(scan, x=10, y=10, w=190)
    return bytes(pdf.output())
