"""The quote as a PDF, with Chinese text rendered by an embedded CJK font.

fpdf2 embeds a subset of a TrueType font (or of one face of a TrueType collection), so the PDF
shows and copies Chinese text on any reader, with no font installed there. The font is the file
named by ``LOOPCRM_PDF_FONT``, else Noto Sans SC, which ``make install`` copies from the npm
lockfile into the static vendor directory, else a known system CJK font (Debian's
``fonts-wqy-microhei`` and others). Without one, rendering fails with
:class:`PdfFontMissing`, which says what to install, rather than a PDF of empty boxes.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from loopcrm.modules.sales.quotes.schemas import QuoteOut
from loopcrm.platform.errors import DomainError
from loopcrm.platform.i18n import N_, Translator

FONT_ENVIRONMENT_VARIABLE = "LOOPCRM_PDF_FONT"
# Looked for in this order: the font `make install` vendors (npm: @expo-google-fonts/noto-sans-sc),
# then Debian packages' files (fonts-wqy-microhei, fonts-wqy-zenhei, fonts-noto-cjk).
VENDORED_FONT = (
    Path(__file__).resolve().parents[4] / "web" / "static" / "vendor" / "fonts" / "NotoSansSC-Regular.ttf"
)
KNOWN_CJK_FONTS = (
    str(VENDORED_FONT),
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
FONT_FAMILY = "cjk"
PAGE_MARGIN_MM = 15


class PdfFontMissing(DomainError):
    """No CJK font to render a quote PDF with: a setup problem of the server, not of the input."""

    status = 503
    code = "pdf_font_missing"
    title = N_(
        "No Chinese font is installed for PDFs: install the Debian package fonts-wqy-microhei "
        "or set LOOPCRM_PDF_FONT to a TrueType font file"
    )


def font_path() -> Path:
    """The CJK font file PDFs embed; :class:`PdfFontMissing` when there is none."""
    configured = os.environ.get(FONT_ENVIRONMENT_VARIABLE)
    candidates = [configured] if configured else list(KNOWN_CJK_FONTS)
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file():
            return path
    raise PdfFontMissing()


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _number(value: Decimal) -> str:
    """A quantity or rate without trailing zeros: 3, 2.5, 33.335."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def render_quote_pdf(quote: QuoteOut, translator: Translator) -> bytes:
    """The quote's PDF in the translator's language: heading, customer, lines and totals."""
    path = font_path()
    _ = translator.gettext
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(PAGE_MARGIN_MM, PAGE_MARGIN_MM, PAGE_MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=PAGE_MARGIN_MM)
    pdf.add_font(FONT_FAMILY, "", str(path), collection_font_number=0)
    pdf.set_title(f"{quote.number} v{quote.version_number}")
    pdf.set_creator("LoopCRM")
    pdf.add_page()
    width = pdf.epw

    pdf.set_font(FONT_FAMILY, size=18)
    pdf.cell(width, 10, _("Quotation"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, size=10)
    facts = [
        (_("Quote number"), f"{quote.number} v{quote.version_number}"),
        (_("Title"), quote.title),
        (_("Customer"), quote.account_name or "—"),
        (_("Contact"), quote.contact_name or "—"),
        (_("Currency"), quote.currency),
        (_("Valid until"), quote.valid_until.isoformat()),
    ]
    for label, value in facts:
        pdf.cell(35, 6, label)
        pdf.multi_cell(width - 35, 6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    headings = [
        _("Item"),
        _("Quantity"),
        _("Unit price"),
        _("Discount") + " %",
        _("Tax rate") + " %",
        _("Amount"),
    ]
    widths = [width - 125, 20, 28, 22, 18, 37]
    pdf.set_font(FONT_FAMILY, size=9)
    for heading, column_width in zip(headings, widths, strict=True):
        pdf.cell(column_width, 7, heading, border="B", align="L" if heading == headings[0] else "R")
    pdf.ln(7)
    for line in quote.lines:
        name = line.description if not line.sku else f"{line.description} ({line.sku})"
        cells = [
            _number(line.quantity) + (f" {line.unit}" if line.unit else ""),
            _money(line.unit_price)
            if line.unit_price == line.unit_price.quantize(Decimal("0.01"))
            else _number(line.unit_price),
            _number(line.discount_percent),
            _number(line.tax_rate),
            _money(line.line_total),
        ]
        top = pdf.get_y()
        pdf.multi_cell(widths[0], 6, name, new_x=XPos.RIGHT, new_y=YPos.TOP)
        bottom = max(pdf.get_y(), top + 6)
        for text, column_width in zip(cells, widths[1:], strict=True):
            pdf.cell(column_width, 6, text, align="R")
        pdf.set_xy(pdf.l_margin, max(bottom, pdf.get_y() + 6))
    pdf.ln(2)
    totals = [
        (_("Subtotal"), quote.subtotal),
        (_("Discount"), -quote.discount_total),
        (_("Tax"), quote.tax_total),
        (_("Total"), quote.total),
    ]
    for label, amount in totals:
        pdf.set_font(FONT_FAMILY, size=11 if label == totals[-1][0] else 9)
        pdf.cell(width - 37, 7, label, align="R")
        pdf.cell(37, 7, f"{_money(amount)}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, size=9)
    pdf.cell(width, 6, f"{_('Currency')}: {quote.currency}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if quote.terms:
        pdf.ln(4)
        pdf.set_font(FONT_FAMILY, size=10)
        pdf.cell(width, 6, _("Terms"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT_FAMILY, size=9)
        pdf.multi_cell(width, 5, quote.terms, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
