"""The ticket layout, checked by parsing the real python-escpos bytes; and the test parser itself."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from escpos_parse import Run, parse
from PIL import Image

from printer.layout import PAPER_WIDTHS, TicketContent, format_datetime, printable, render_ticket

JAKARTA = ZoneInfo("Asia/Jakarta")
URL = "http://192.168.1.10:5000/t/4MfVbsZE79E6NlT309xQVg"
COLUMNS = {58: 32, 80: 48}
DOTS = {58: 384, 80: 576}
ROOT = Path(__file__).resolve().parent.parent

TICKET = TicketContent(
    site_name="Mal Pelayanan Publik Kabupaten Contoh",
    agency_name="Dinas Kependudukan dan Pencatatan Sipil",
    service_name="Perekaman KTP Elektronik",
    number="A012",
    issued_at=dt.datetime(2026, 11, 23, 9, 5, tzinfo=JAKARTA),
    ahead=3,
    estimated_wait_minutes=15,
    status_url=URL,
)


def joined(receipt_lines: list[str]) -> str:
    """The printed text with line breaks as spaces: wrapped sentences read whole again."""
    return " ".join(line for line in receipt_lines if line)


def render(width: int, **changes: object):
    return parse(render_ticket(dataclasses.replace(TICKET, **changes), width))


@pytest.mark.parametrize("width", PAPER_WIDTHS)
def test_number_is_big_and_bold(width: int) -> None:
    receipt = render(width)
    runs = [run for run in receipt.styled if run.text == "A012"]
    assert len(runs) == 1
    assert runs[0].width_mult >= 2 and runs[0].height_mult >= 2 and runs[0].bold
    # Everything else is normal size, except the number: the size was reset after it.
    others = [run for run in receipt.styled if run.text != "A012"]
    assert all(run.width_mult == 1 and run.height_mult == 1 for run in others)


@pytest.mark.parametrize("width", PAPER_WIDTHS)
def test_qr_holds_the_status_url_and_fits(width: int) -> None:
    receipt = render(width)
    assert receipt.qr_data == [URL]
    assert receipt.qr_printed == 1
    assert receipt.qr_model == 2 and receipt.qr_ecc == "M"
    # URL of this length is QR version 4 at level M: 33 modules, plus a 4-module quiet zone each side.
    assert receipt.qr_module_size is not None
    assert receipt.qr_module_size >= 3 and (33 + 8) * receipt.qr_module_size <= DOTS[width] * 0.7
    store = receipt.commands.index("GS ( k 80")
    assert receipt.commands.index("GS ( k 81") > store
    assert "Pindai untuk memantau antrean" in receipt.lines


def test_qr_is_larger_on_wider_paper() -> None:
    assert render(80).qr_module_size > render(58).qr_module_size  # type: ignore[operator]


@pytest.mark.parametrize("width", PAPER_WIDTHS)
def test_one_cut_at_the_very_end_after_a_feed(width: int) -> None:
    receipt = render(width)
    assert receipt.cuts == 1
    assert receipt.commands[-1] == "GS V"
    assert receipt.commands[-2] == "ESC d"
    assert receipt.commands[:2] == ["ESC @", "ESC t"]


@pytest.mark.parametrize("width", PAPER_WIDTHS)
@pytest.mark.parametrize("changes", [
    {},
    {"service_name": "Penerbitan Surat Keterangan Pindah Datang Antar Kabupaten/Kota dalam Satu Provinsi"},
    {"agency_name": "Badan Penyelenggara Jaminan Sosial Ketenagakerjaan Kantor Cabang Pembantu"},
    {"site_name": "X" * 70},  # one word longer than any line: cut, never overflowing
    {"number": "PRIO-B0123", "priority_label": "Prioritas: Penyandang Disabilitas dan Ibu Hamil"},
    {"reprint": True, "footer": "Simpan tiket ini. " * 12},
])
def test_every_line_fits_the_paper(width: int, changes: dict[str, object]) -> None:
    receipt = render(width, **changes)
    assert receipt.printed
    for line in receipt.printed:
        assert line.columns <= COLUMNS[width], line.text
        assert line.align == 1  # centred


@pytest.mark.parametrize("width", PAPER_WIDTHS)
def test_wrapping_keeps_words_whole(width: int) -> None:
    service = "Penerbitan Surat Keterangan Pindah Datang Antar Kabupaten/Kota dalam Satu Provinsi"
    receipt = render(width, service_name=service)
    words = set(service.split())
    printed_words = {word for line in receipt.lines for word in line.split()}
    assert words <= printed_words
    assert service in joined(receipt.lines)
    assert joined(receipt.lines).count(TICKET.footer) == 1


@pytest.mark.parametrize("width", PAPER_WIDTHS)
def test_texts_in_order(width: int) -> None:
    receipt = render(width)
    text = joined(receipt.lines)
    expected = [
        TICKET.site_name,
        TICKET.agency_name,
        TICKET.service_name,
        "NOMOR ANTREAN",
        "A012",
        "Senin, 23 November 2026 09:05",
        "Menunggu di depan Anda: 3 orang",
        "Perkiraan waktu tunggu: \u00b1 15 menit",
        "Pindai untuk memantau antrean",
        TICKET.footer,
    ]
    positions = [text.index(part) for part in expected]
    assert positions == sorted(positions)
    bold = joined([run.text for run in receipt.styled if run.bold])
    assert bold.startswith(TICKET.site_name + " ")  # the site name is bold (then the number)
    assert TICKET.agency_name not in bold
    assert "Anda nomor berikutnya" not in text
    assert "CETAK ULANG" not in text
    assert "Prioritas" not in text


def test_estimate_value_stays_together_when_wrapped() -> None:
    # 34 characters do not fit 32 columns; the break comes before "±", not inside "± 15 menit".
    lines = render(58).lines
    assert "Perkiraan waktu tunggu:" in lines
    assert "\u00b1 15 menit" in lines


@pytest.mark.parametrize("width", PAPER_WIDTHS)
def test_nobody_ahead(width: int) -> None:
    text = joined(render(width, ahead=0, estimated_wait_minutes=0).lines)
    assert "Anda nomor berikutnya" in text
    assert "Menunggu di depan Anda" not in text
    assert "Perkiraan waktu tunggu" not in text


@pytest.mark.parametrize("width", PAPER_WIDTHS)
def test_priority_label_is_printed_bold_below_the_number(width: int) -> None:
    receipt = render(width, priority_label="Prioritas: Lansia")
    assert Run("Prioritas: Lansia", 1, 1, True) in receipt.styled
    assert receipt.lines.index("Prioritas: Lansia") > receipt.lines.index("A012")


@pytest.mark.parametrize("width", PAPER_WIDTHS)
def test_reprint_mark(width: int) -> None:
    receipt = render(width, reprint=True)
    marks = [run for run in receipt.styled if "CETAK ULANG" in run.text]
    assert len(marks) == 1 and marks[0].bold and marks[0].height_mult >= 2
    assert receipt.lines.index(marks[0].text) < receipt.lines.index("A012")


@pytest.mark.parametrize("width", PAPER_WIDTHS)
def test_characters_outside_the_code_page(width: int) -> None:
    raw = render_ticket(dataclasses.replace(
        TICKET, service_name="Legalisasi \u2013 Akta\u2019s Caf\u00e9 \U0001f389 \u201cKilat\u201d\u2026",
        agency_name="Kantor Imigrasi \u2014 Kelas I \U0001f468\u200d\U0001f469\u200d\U0001f467"), width)
    receipt = parse(raw)
    assert receipt.code_page == 0
    assert "Legalisasi - Akta's Caf\u00e9 ? \"Kilat\"..." in joined(receipt.lines)
    assert "Kantor Imigrasi - Kelas I ?" in joined(receipt.lines)  # a joined emoji is one "?"
    assert "Caf\x82".encode("latin-1") in raw  # é is byte 0x82 in PC437


@pytest.mark.parametrize("width", PAPER_WIDTHS)
def test_plus_minus_is_encoded_in_the_selected_code_page(width: int) -> None:
    raw = render_ticket(TICKET, width)
    receipt = parse(raw)
    assert receipt.code_page == 0  # ESC t 0 = PC437
    assert b"\xf1 15 menit" in raw  # ± in PC437
    assert "\u00b1 15 menit" in joined(receipt.lines)


def test_control_characters_in_data_cannot_inject_commands() -> None:
    receipt = render(80, service_name="Paspor\x1b@\x1dV\x00 Baru\tCepat\n")
    assert "Paspor@V Baru Cepat" in receipt.lines
    assert receipt.commands.count("ESC @") == 1 and receipt.cuts == 1


@pytest.mark.parametrize(("moment", "expected"), [
    (dt.datetime(2026, 11, 23, 9, 5, tzinfo=JAKARTA), "Senin, 23 November 2026 09:05"),
    (dt.datetime(2026, 1, 4, 7, 30, tzinfo=JAKARTA), "Minggu, 4 Januari 2026 07:30"),
    (dt.datetime(2026, 5, 1, 13, 0, tzinfo=JAKARTA), "Jumat, 1 Mei 2026 13:00"),
    (dt.datetime(2026, 3, 31, 23, 59, tzinfo=JAKARTA), "Selasa, 31 Maret 2026 23:59"),
    (dt.datetime(2026, 8, 17, 8, 0, tzinfo=JAKARTA), "Senin, 17 Agustus 2026 08:00"),
    (dt.datetime(2026, 12, 31, 10, 0, tzinfo=JAKARTA), "Kamis, 31 Desember 2026 10:00"),
])
def test_indonesian_date(moment: dt.datetime, expected: str) -> None:
    assert format_datetime(moment) == expected
    assert expected in render(58, issued_at=moment).lines


def test_printable_replacements() -> None:
    assert printable("\u2018a\u2019 \u201cb\u201d c\u2013d\u2014e \u2026") == "'a' \"b\" c-d-e ..."
    assert printable("\u014csaka \ufb01le") == "Osaka file"  # no PC437 glyph: the plain letters
    assert printable("\U0001f1ee\U0001f1e9 \U0001f44d\U0001f3fd ok") == "? ? ok"  # a flag, a toned thumb
    assert printable("  a \u00a0\t b  ") == "a b"
    assert printable("\u00b1 \u00e9 \u00fc \u00f1") == "\u00b1 \u00e9 \u00fc \u00f1"


@pytest.mark.parametrize("width", [0, 57, 70, 100])
def test_other_paper_widths_are_refused(width: int) -> None:
    with pytest.raises(ValueError, match="58, 80"):
        render_ticket(TICKET, width)


@pytest.mark.parametrize("width", PAPER_WIDTHS)
def test_logo_is_scaled_to_fit_and_printed_first(width: int, tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    Image.new("RGB", (1000, 400), "black").save(logo)
    receipt = render(width, logo_path=str(logo))
    assert len(receipt.images) == 1
    image_width, image_height = receipt.images[0]
    assert image_width == DOTS[width]  # centred: padded to the printable width
    assert 0 < image_height <= 200
    assert receipt.commands.index("GS v 0") < receipt.commands.index("TEXT")


def test_missing_logo_still_prints_the_ticket(tmp_path: Path) -> None:
    receipt = render(80, logo_path=str(tmp_path / "missing.png"))
    assert receipt.images == []
    assert "A012" in receipt.lines and receipt.cuts == 1


@pytest.mark.parametrize("width", PAPER_WIDTHS)
def test_deterministic(width: int) -> None:
    content = dataclasses.replace(TICKET, priority_label="Prioritas: Lansia", reprint=True,
                                  service_name="Caf\u00e9 \u2013 \U0001f389")
    first = render_ticket(content, width)
    assert render_ticket(content, width) == first
    assert render_ticket(dataclasses.replace(content, number="A013"), width) != first


def test_deterministic_across_processes() -> None:
    """Another interpreter with another hash seed produces the same bytes."""
    code = (
        "import datetime as dt, sys; from zoneinfo import ZoneInfo; "
        "from printer.layout import TicketContent, render_ticket; "
        f"c = TicketContent('S', 'A', 'Caf\u00e9 \u2013 x', 'A012', "
        "dt.datetime(2026, 11, 23, 9, 5, tzinfo=ZoneInfo('Asia/Jakarta')), 3, 15, "
        f"{URL!r}, 'Prioritas: Lansia'); "
        "sys.stdout.write(render_ticket(c, 58).hex())"
    )
    local = render_ticket(TicketContent("S", "A", "Caf\u00e9 \u2013 x", "A012", TICKET.issued_at, 3, 15, URL,
                                        "Prioritas: Lansia"), 58)
    for seed in ("1", "2"):
        env = {"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True)
        assert bytes.fromhex(out.stdout) == local


# -- the parser itself, on hand-made bytes --------------------------------------------------------


def test_parser_text_styles_and_code_page() -> None:
    data = (b"\x1b@\x1bt\x13\x1ba\x01" + "Caf\u00e9 \u20ac".encode("cp858") + b"\n"
            + b"\x1b!\x38BIG\x1b!\x00 small\n" + b"\x1d!\x21W3H2\x1d!\x00\x1bE\x01B\x1bE\x00\n\n")
    receipt = parse(data)
    assert receipt.code_page == 19
    assert receipt.lines == ["Caf\u00e9 \u20ac", "BIG small", "W3H2B", ""]
    assert receipt.printed[0].align == 1
    assert receipt.styled == [
        Run("Caf\u00e9 \u20ac", 1, 1, False),
        Run("BIG", 2, 2, True), Run(" small", 1, 1, False),
        Run("W3H2", 3, 2, False), Run("B", 1, 1, True),
    ]
    assert receipt.printed[2].columns == 3 * 4 + 1
    assert receipt.commands[:3] == ["ESC @", "ESC t", "ESC a"]


def test_parser_default_code_page_and_reset() -> None:
    receipt = parse(b"\xf1\n\x1bE\x01\x1b@X\n")
    assert receipt.lines == ["\u00b1", "X"]  # PC437 until ESC t; ESC @ turns bold off
    assert receipt.styled[-1] == Run("X", 1, 1, False)
    assert receipt.code_page is None


def test_parser_qr_image_feed_cut_and_status() -> None:
    content = b"https://example.org/t/abc"
    data = (
        b"\x10\x04\x04"
        + b"\x1d(k\x04\x001A2\x00" + b"\x1d(k\x03\x001C\x05" + b"\x1d(k\x03\x001E3"
        + b"\x1d(k" + (len(content) + 3).to_bytes(2, "little") + b"1P0" + content
        + b"\x1d(k\x03\x001Q0"
        + b"\x1dv0\x00\x02\x00\x03\x00" + b"\xff" * 6
        + b"tail\x1bd\x03\x1dVA\x00"
    )
    receipt = parse(data)
    assert receipt.status_queries == [4]
    assert receipt.qr_data == ["https://example.org/t/abc"]
    assert (receipt.qr_printed, receipt.qr_model, receipt.qr_module_size, receipt.qr_ecc) == (1, 2, 5, "H")
    assert receipt.images == [(16, 3)]
    assert receipt.lines == ["tail"]  # ESC d prints what is pending
    assert receipt.cuts == 1 and receipt.commands[-2:] == ["ESC d", "GS V"]


@pytest.mark.parametrize("data", [
    b"\x1bZ",  # unknown ESC command
    b"\x1d\x99\x00",  # unknown GS command
    b"\x1d(k\x10\x001P0abc",  # GS ( k shorter than it says
    b"\x1d(k\x03\x000A\x00",  # GS ( k for PDF417, not QR
    b"\x1d(k\x03\x001R0",  # QR function the layout never sends
    b"\x1d(Z\x00\x00",  # unknown GS ( class
    b"\x10\x04\x05",  # DLE EOT with a bad n
    b"\x10\x14\x01",  # other DLE command
    b"abc\x07",  # BEL: unknown control byte
    b"\x1bt\x63abc",  # text in a code page the parser does not know
    b"\x1b",  # truncated
])
def test_parser_refuses_unknown_or_broken_sequences(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse(data)
