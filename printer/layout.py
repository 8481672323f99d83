"""ESC/POS layout of one queue ticket, built with python-escpos.

The output is plain bytes so the server, a print agent or a test can send,
store or parse it without a printer. Choices, and why:

* ``escpos.printer.Dummy`` collects what python-escpos would send; we return
  ``dummy.output``. The profile is picked per paper width (``_PAPERS``) for
  its column count and dot width; nothing here depends on the profile's
  optional feature flags, so the same bytes work on Epson and on the common
  Chinese 58/80 mm clones.
* Code page PC437 (``ESC t 0``), sent explicitly right after ``ESC @``: it is
  table 0 on every ESC/POS printer, clones included (numbering of the other
  tables differs between vendors), and it holds what Indonesian tickets need
  (ASCII, "±", common accents such as "é"). python-escpos' automatic
  code-page switching is disabled by forcing that one encoding, so the same
  input always gives the same bytes.
* Text is cleaned before encoding (``printable``): typographic punctuation
  becomes ASCII, characters PC437 lacks become a close ASCII letter or "?",
  control characters are dropped so data can never inject printer commands.
* Every line is wrapped here to the paper's font-A columns (32 on 58 mm, 48
  on 80 mm), so neither python-escpos nor the printer ever wraps mid-word.
* The QR code is native (``GS ( k``, model 2, error correction M): sharper
  and far smaller to send than a raster image; its module size is chosen so
  the symbol takes at most ~70 % of the paper width.
* The ticket ends with ``ESC d 2`` then ``GS V 66 0`` ("feed to the cutter,
  then cut"), which works whatever the printer's head-to-cutter distance is
  and is ignored by printers without a cutter.
"""

from __future__ import annotations

import datetime
import logging
import textwrap
import unicodedata
from dataclasses import dataclass

import qrcode
from escpos.constants import CODEPAGE_CHANGE, QR_ECLEVEL_M, QR_MODEL_2
from escpos.printer import Dummy
from PIL import Image

log = logging.getLogger(__name__)

PAPER_WIDTHS = (58, 80)

#: The one code page used: python-escpos' name for it, its ESC t number and the Python codec.
CODE_PAGE = "CP437"
CODE_PAGE_NUMBER = 0
CODEC = "cp437"

DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)

REPRINT_MARK = "*** CETAK ULANG ***"
NUMBER_LABEL = "NOMOR ANTREAN"
SCAN_HINT = "Pindai untuk memantau antrean"
NEXT_IN_LINE = "Anda nomor berikutnya"
DEFAULT_FOOTER = "Terima kasih atas kunjungan Anda. Mohon menunggu nomor Anda dipanggil."


@dataclass(frozen=True)
class TicketContent:
    """What a ticket says; the layout decides how it looks."""

    site_name: str
    agency_name: str
    service_name: str
    number: str
    issued_at: datetime.datetime
    ahead: int
    estimated_wait_minutes: int
    status_url: str
    priority_label: str = ""
    footer: str = DEFAULT_FOOTER
    reprint: bool = False
    logo_path: str | None = None


@dataclass(frozen=True)
class _Paper:
    """Per-width settings; the profile supplies the dot width for logo centring."""

    profile: str
    columns: int
    dots: int
    number_max_mult: int
    qr_max_module: int


# POS-5890 is the generic 58 mm clone (384 dots, 32 columns); TM-T20II is the
# reference 80 mm printer most clones copy (576 dots, 48 columns).
_PAPERS: dict[int, _Paper] = {
    58: _Paper("POS-5890", 32, 384, 3, 6),
    80: _Paper("TM-T20II", 48, 576, 4, 8),
}

# Typographic characters PC437 lacks, mapped to what a reader expects.
_FALLBACK: dict[str, str] = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u2022": "*", "\u20ac": "EUR", "\u2122": "TM", "\u00a9": "(c)", "\u00ae": "(R)",
    "\u00d7": "x", "\u2192": "->", "\u2190": "<-",
}
# Emoji modifiers (skin tones) and variation selectors carry no text of their own.
_SILENT = {chr(c) for c in range(0x1F3FB, 0x1F400)} | {chr(c) for c in range(0xFE00, 0xFE10)}
_NBSP = "\u00a0"
_ZWJ = "\u200d"
_REGIONAL_A, _REGIONAL_Z = "\U0001f1e6", "\U0001f1ff"


def _encodable(text: str) -> bool:
    try:
        text.encode(CODEC)
    except UnicodeEncodeError:
        return False
    return True


def _printable_char(ch: str) -> str:
    """One character as PC437 can print it: itself, a close ASCII form, "" or "?"."""
    if ch in _FALLBACK:
        return _FALLBACK[ch]
    if ch in _SILENT:
        return ""
    category = unicodedata.category(ch)
    if category == "Cc":
        # Tabs and line breaks separate words; other control bytes (ESC, GS...) must never reach the printer.
        return " " if ch in "\t\n\r\v\f" else ""
    if category.startswith("Z"):
        return " "  # exotic spaces and line separators
    if category in ("Cf", "Mn", "Me"):
        # Zero-width joiners, BOMs, stray combining marks (after NFC) and keycap enclosures.
        return ""
    if _encodable(ch):
        return ch
    stripped = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if stripped and stripped.isprintable() and _encodable(stripped):
        return stripped
    return "?"


def printable(text: str) -> str:
    """Text that encodes in PC437 without loss: never raises, one line, single spaces.

    An emoji built from several code points (joined by ZWJ, or a flag's two
    regional indicators) becomes a single "?".
    """
    out: list[str] = []
    glued = False  # previous code point asked to join the next one into the same symbol
    flag_half = False  # an odd regional indicator is waiting for its pair
    for ch in unicodedata.normalize("NFC", text):
        if ch == _ZWJ:
            glued = True
            continue
        is_flag = _REGIONAL_A <= ch <= _REGIONAL_Z
        piece = _printable_char(ch)
        if piece == "?" and out[-1:] == ["?"] and (glued or (is_flag and flag_half)):
            piece = ""
        flag_half = is_flag and not flag_half
        glued = False
        if piece:
            out.append(piece)
    return " ".join("".join(out).split())


def wrap(text: str, width: int) -> list[str]:
    """Word-wrap to ``width`` columns; NBSP glues words together and prints as a space."""
    lines = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False)
    return [line.replace(_NBSP, " ") for line in lines]


def format_datetime(moment: datetime.datetime) -> str:
    """'Senin, 23 November 2026 09:05': names written here so the OS locale never matters."""
    return f"{DAYS[moment.weekday()]}, {moment.day} {MONTHS[moment.month - 1]} {moment.year} {moment:%H:%M}"


def wait_lines(ahead: int, minutes: int) -> list[str]:
    """The waiting information; with nobody ahead, one line says so instead of '0 orang'."""
    if ahead <= 0:
        return [NEXT_IN_LINE]
    return [
        f"Menunggu di depan Anda: {ahead}{_NBSP}orang",
        f"Perkiraan waktu tunggu: \u00b1{_NBSP}{max(0, minutes)}{_NBSP}menit",
    ]


def qr_module_size(content: str, paper: _Paper) -> int:
    """Largest module (dots) keeping the symbol plus quiet zone within ~70 % of the paper."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(content)
    # best_fit only picks the version (size); make() would also draw the symbol, 50x slower.
    modules = code.best_fit() * 4 + 17 + 8  # version v has 4v + 17 modules; 4-module quiet zone each side
    return max(1, min(paper.qr_max_module, int(paper.dots * 0.7) // modules))


def _paper(paper_width_mm: int) -> _Paper:
    if paper_width_mm not in _PAPERS:
        raise ValueError(f"paper width must be one of {PAPER_WIDTHS} mm, not {paper_width_mm!r}")
    return _PAPERS[paper_width_mm]


def _lines(p: Dummy, text: str, columns: int) -> None:
    for line in wrap(text, columns):
        p.textln(line)


def _logo(p: Dummy, path: str, paper: _Paper) -> None:
    """Print the logo scaled to fit; a missing or broken file must not stop the ticket."""
    try:
        with Image.open(path) as source:
            image = source.convert("RGBA")
    except (OSError, ValueError) as exc:
        log.warning("ticket logo %s not printed: %s", path, exc)
        return
    max_w, max_h = paper.dots, 200
    if image.width > max_w or image.height > max_h:
        scale = min(max_w / image.width, max_h / image.height)
        size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    p.image(image, impl="bitImageRaster", center=True)


def _number(p: Dummy, number: str, paper: _Paper) -> None:
    """The number as large as fits (at least 2x2), bold; reset to normal size afterwards."""
    mult = max(2, min(paper.number_max_mult, paper.columns // max(1, len(number))))
    p.set(bold=True, custom_size=True, width=mult, height=mult)
    per_line = paper.columns // mult
    for start in range(0, len(number), per_line):
        p.textln(number[start:start + per_line])
    p.set(bold=False, custom_size=True, width=1, height=1)


def render_ticket(content: TicketContent, paper_width_mm: int = 80) -> bytes:
    """ESC/POS bytes of one ticket for 58 or 80 mm paper; deterministic."""
    paper = _paper(paper_width_mm)
    cols = paper.columns
    # Magic encoding off: every text is encoded with PC437 only, never switching tables.
    p = Dummy(profile=paper.profile, magic_encode_args={"encoding": CODE_PAGE, "disabled": True})
    p.hw("INIT")
    # ESC t 0 written directly: the 58 mm profile lists PC437 under several numbers and
    # p.charcode() would pick 52, which clones do not agree on.
    p._raw(CODEPAGE_CHANGE + bytes([CODE_PAGE_NUMBER]))
    p.set(align="center")

    if content.logo_path:
        _logo(p, content.logo_path, paper)
    if content.reprint:
        p.set(bold=True, custom_size=True, width=1, height=2)
        _lines(p, REPRINT_MARK, cols)
        p.set(bold=False, custom_size=True, width=1, height=1)

    p.set(bold=True)
    _lines(p, printable(content.site_name), cols)
    p.set(bold=False)
    _lines(p, printable(content.agency_name), cols)
    _lines(p, printable(content.service_name), cols)
    p.ln()

    _lines(p, NUMBER_LABEL, cols)
    _number(p, printable(content.number) or "?", paper)
    if content.priority_label.strip():
        p.set(bold=True)
        _lines(p, printable(content.priority_label), cols)
        p.set(bold=False)
    p.ln()

    _lines(p, format_datetime(content.issued_at), cols)
    for line in wait_lines(content.ahead, content.estimated_wait_minutes):
        _lines(p, line, cols)

    if content.status_url:
        p.ln()
        p.qr(content.status_url, ec=QR_ECLEVEL_M, size=qr_module_size(content.status_url, paper),
             model=QR_MODEL_2, native=True)
        p.ln()
        _lines(p, SCAN_HINT, cols)

    if content.footer.strip():
        p.ln()
        _lines(p, printable(content.footer), cols)

    p.print_and_feed(2)
    p.cut(feed=False)  # GS V 66 0: feed to the cutting position, then cut
    return p.output
