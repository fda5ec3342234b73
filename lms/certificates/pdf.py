"""The printable certificate: an A4 PDF in Vietnamese with embedded (subset) DejaVu fonts, a QR
code to the public verification page, signed with a PAdES baseline signature (pyHanko) by the
issuer's key (lms.certificates.keys). Drawn with ReportLab, whose fonts are registered once per
process, so a certificate takes tens of milliseconds to draw."""

from __future__ import annotations

import asyncio
import threading
import unicodedata
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

import segno
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from ..models import Certificate
from .keys import PdfSigningMaterial

T = TypeVar("T")

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {
    "Serif": "DejaVuSerif.ttf", "Serif-Bold": "DejaVuSerif-Bold.ttf",
    "Serif-Italic": "DejaVuSerif-Italic.ttf", "Sans": "DejaVuSans.ttf",
    "Sans-Bold": "DejaVuSans-Bold.ttf",
}
NAVY = Color(22 / 255, 52 / 255, 110 / 255)
RED = Color(170 / 255, 30 / 255, 30 / 255)
GREY = Color(0.35, 0.35, 0.35)
BLACK = Color(0, 0, 0)
PAGE_W, PAGE_H = A4
MARGIN = 22 * mm
WIDTH = PAGE_W - 2 * MARGIN
BOTTOM = 30 * mm  # lowest baseline of the body (the footer lives below)
# ReportLab's TrueType subsetting shares state per font face: one document at a time per process
_RENDER_LOCK = threading.Lock()


def _register_fonts() -> None:
    registered = set(pdfmetrics.getRegisteredFontNames())
    for name, file in FONTS.items():
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / file)))


def _t(text: object) -> str:
    """Vietnamese in NFC: precomposed letters, one glyph each in DejaVu."""
    return unicodedata.normalize("NFC", str(text))


VIETNAM = timezone(timedelta(hours=7))  # no daylight saving time


def _date_vi(moment: datetime | date) -> str:
    day = moment.astimezone(VIETNAM).date() if isinstance(moment, datetime) else moment
    return f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


@dataclass
class _Writer:
    """A cursor going down the page, wrapping text and starting a new page when full."""

    canvas: Canvas
    footer: list[str]
    y: float = PAGE_H - 20 * mm

    def decorate(self) -> None:
        c = self.canvas
        c.setStrokeColor(NAVY)
        c.setLineWidth(3.4)
        c.rect(8 * mm, 8 * mm, PAGE_W - 16 * mm, PAGE_H - 16 * mm)
        c.setLineWidth(0.8)
        c.rect(10.5 * mm, 10.5 * mm, PAGE_W - 21 * mm, PAGE_H - 21 * mm)
        c.setFont("Sans", 7)
        c.setFillColor(GREY)
        y = 20 * mm
        for line in self.footer:
            for part in simpleSplit(line, "Sans", 7, PAGE_W - 36 * mm):
                c.drawCentredString(PAGE_W / 2, y, part)
                y -= 3.3 * mm

    def new_page(self) -> None:
        self.canvas.showPage()
        self.decorate()
        self.y = PAGE_H - 20 * mm

    def text(self, text: str, font: str, size: float, *, color: Color = BLACK,
             align: str = "center", indent: float = 0.0, leading: float = 1.3,
             x: float = MARGIN, width: float = WIDTH) -> None:
        lines = simpleSplit(_t(text), font, size, width - indent)
        for line in lines:
            if self.y < BOTTOM:
                self.new_page()
            self.y -= size * leading
            self.canvas.setFont(font, size)
            self.canvas.setFillColor(color)
            if align == "center":
                self.canvas.drawCentredString(x + width / 2, self.y, line)
            else:
                self.canvas.drawString(x + indent, self.y, line)

    def gap(self, height_mm: float) -> None:
        self.y -= height_mm * mm


def _qr(c: Canvas, url: str, x: float, y: float, size: float) -> None:
    """The QR code as vector squares (sharp at any print size)."""
    matrix = segno.make(url, error="m").matrix
    cell = size / len(matrix)
    c.setFillColor(BLACK)
    for r, row in enumerate(matrix):
        for col, dark in enumerate(row):
            if dark:
                c.rect(x + col * cell, y + size - (r + 1) * cell, cell, cell, stroke=0, fill=1)


def render(cert: Certificate, verify_url: str, framework_title: str, statement: str) -> bytes:
    """The unsigned PDF of a certificate (everything printed comes from its snapshot)."""
    with _RENDER_LOCK:
        _register_fonts()
        return _draw(cert, verify_url, framework_title, statement)


def _draw(cert: Certificate, verify_url: str, framework_title: str, statement: str) -> bytes:
    buf = BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=False, lang="vi")
    c.setTitle(_t(f"Giấy chứng nhận {cert.serial}"))
    c.setAuthor(_t(cert.issuer))
    c.setSubject(_t(cert.programme_title))
    c.setCreator("Học vụ số Hải Phòng")
    w = _Writer(c, [
        _t(f"Số hiệu {cert.serial} — kiểm tra tại {verify_url}"),
        _t("Giấy chứng nhận ghi nhận kết quả học tập trên nền tảng học kỹ năng số của thành phố; "
           "không thay thế việc xác nhận đạt phổ cập kỹ năng số trên nền tảng VNeID."),
    ])
    w.decorate()

    # heading: issuing body (left), national motto (right)
    half = WIDTH / 2
    top = w.y
    w.text(cert.issuer.upper(), "Serif-Bold", 9, width=half - 2 * mm)
    left_y = w.y
    w.y = top
    w.text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Serif-Bold", 9, x=MARGIN + half,
           width=half)
    motto = _t("Độc lập – Tự do – Hạnh phúc")
    w.text(motto, "Serif-Bold", 10, x=MARGIN + half, width=half)
    half_motto = pdfmetrics.stringWidth(motto, "Serif-Bold", 10) / 2
    c.setStrokeColor(BLACK)
    c.setLineWidth(0.5)
    c.line(MARGIN + 1.5 * half - half_motto, w.y - 4, MARGIN + 1.5 * half + half_motto, w.y - 4)
    w.y = min(left_y, w.y)
    w.gap(10)

    w.text("GIẤY CHỨNG NHẬN", "Serif-Bold", 26, color=NAVY, leading=1.1)
    w.gap(1)
    w.text("HOÀN THÀNH CHƯƠNG TRÌNH HỌC KỸ NĂNG SỐ", "Serif-Bold", 12.5, color=NAVY)
    w.gap(6)
    w.text("Chứng nhận", "Serif", 12)
    w.gap(1)
    w.text(cert.learner_name, "Serif-Bold", 20, color=RED)
    details = []
    if cert.birth_year:
        details.append(f"Năm sinh: {cert.birth_year}")
    if cert.unit_name:
        details.append(f"Đơn vị, địa bàn: {cert.unit_name}")
    if details:
        w.gap(1)
        w.text(" – ".join(details), "Serif", 11.5)
    w.gap(3)
    w.text(f"Đã {statement[0].lower()}{statement[1:]}", "Serif", 11.5, leading=1.4)
    w.gap(1)
    if cert.target_group:
        w.text(f"Nhóm đối tượng: {cert.target_group}", "Serif", 11)
    w.text(f"Ngày hoàn thành: {cert.completed_on:%d/%m/%Y}", "Serif", 11)
    w.gap(4)

    if cert.competencies:
        w.text("Các năng lực số được đánh giá", "Serif-Bold", 11, align="left")
        w.text(f"Theo {framework_title}; mức độ theo thang của khung (CB: cơ bản, "
               "TC: trung cấp, NC: nâng cao).", "Sans", 7.5, color=GREY, align="left")
        w.gap(1)
        for domain in cert.competencies:
            w.text(f"{domain['code']}. {domain['name']}", "Sans-Bold", 8.8, align="left",
                   leading=1.25)
            for comp in domain["competencies"]:
                w.text(f"{comp['code']}  {comp['name']} — mức {comp['level_code']}", "Sans",
                       8.5, align="left", indent=5 * mm, leading=1.22)
        w.gap(2)

    # verification QR (left) and issuing body (right), kept together on one page
    block = 40 * mm
    if w.y - block < BOTTOM - 4 * mm:
        w.new_page()
    y = min(w.y, BOTTOM + block) - block
    _qr(c, verify_url, MARGIN, y + 6 * mm, 30 * mm)
    c.setFont("Sans", 7)
    c.setFillColor(BLACK)
    c.drawString(MARGIN + 1 * mm, y + 3 * mm, _t("Quét mã để kiểm tra"))
    w.y = y + block
    right = MARGIN + half
    w.text(f"Hải Phòng, {_date_vi(cert.issued_at)}", "Serif-Italic", 10.5, x=right, width=half)
    w.text(cert.issuer.upper(), "Serif-Bold", 10.5, x=right, width=half)
    w.gap(2)
    w.text("Đã ký số (PAdES). Kiểm tra chữ ký trong trình đọc PDF hoặc quét mã QR.", "Sans", 8,
           color=NAVY, x=right, width=half)
    w.gap(2)
    w.text(f"Số hiệu: {cert.serial}", "Sans-Bold", 9.5, x=right, width=half)
    c.showPage()
    c.save()
    return buf.getvalue()


def sign(pdf_bytes: bytes, material: PdfSigningMaterial, issuer: str, location: str,
         serial: str) -> bytes:
    """Add a PAdES baseline (B-B) signature covering the whole document."""
    key = load_private_key_from_pemder_data(material.key_pem, passphrase=None)
    certs = list(load_certs_from_pemder_data(material.cert_pem))
    chain = [c for pem in material.chain_pem for c in load_certs_from_pemder_data(pem)]
    signer = signers.SimpleSigner(
        signing_cert=certs[0], signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs(certs + chain),
    )
    meta = signers.PdfSignatureMetadata(
        field_name="ChuKySo",
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=_t(f"Cấp giấy chứng nhận {serial}"),
        location=_t(location),
        name=_t(issuer),
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf_bytes))
    return run_async(lambda: signers.async_sign_pdf(writer, meta, signer=signer)).getvalue()


def run_async(make_coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """pyHanko's sync wrappers call asyncio.run(), which fails where an event loop already runs
    in this thread (an async server, or Playwright's sync API in the tests): then the coroutine
    gets a loop of its own in a short-lived thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()
