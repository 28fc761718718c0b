"""Real PDFs for tests, made with fpdf2: a text layer with running headers, a scan, a locked one."""

from __future__ import annotations

import io

from fpdf import FPDF
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, StreamObject

HEADER = "ACME Developer Agreement"


def text_pdf(
    paragraphs: list[str],
    *,
    per_page: int = 3,
    password: str | None = None,
    compress: bool = True,
) -> bytes:
    """Paragraphs laid out `per_page` to a page, each page with a running header and number;
    with `compress=False`, its text is in the file's bytes as written, as some tools leave it."""
    pdf = FPDF()
    pdf.set_compression(compress)
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


def inflating_pdf(lines: int) -> bytes:
    """One page whose compressed content stream writes a line of text `lines` times: 59 bytes a
    line once inflated, for next to nothing in the file (2,000,000 lines: 118 MB in 340 KB)."""
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    fonts = DictionaryObject({NameObject("/F1"): font})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    stream = StreamObject()
    stream.set_data(b"BT /F1 12 Tf 72 700 Td (Policy words, again and again.) Tj ET\n" * lines)
    page.replace_contents(stream.flate_encode())
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()
