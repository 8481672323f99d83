"""The spoken call (queue_server.domain.announce) and the display's recorded clips.

No database: pure functions, and the committed files under display/static/voice/id/.
"""

from __future__ import annotations

import itertools
import json
import struct
import wave
from pathlib import Path

import pytest

from queue_server.domain import announce
from queue_server.domain.announce import (
    announcement,
    number_words,
    spoken_words,
    text_en,
    text_id,
    ticket_words,
    vocabulary,
)

VOICE_DIR = Path(__file__).resolve().parents[1] / "display" / "static" / "voice" / "id"


# --- the Indonesian reading ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "counter", "text", "words"),
    [
        ("A001", 1, "Nomor antrean, A, nol nol satu, silakan menuju loket satu.",
         ["nomor-antrean", "a", "nol", "nol", "satu", "silakan-menuju-loket", "satu"]),
        ("A012", 3, "Nomor antrean, A, nol dua belas, silakan menuju loket tiga.",
         ["nomor-antrean", "a", "nol", "dua", "belas", "silakan-menuju-loket", "tiga"]),
        ("B010", 2, "Nomor antrean, B, nol sepuluh, silakan menuju loket dua.",
         ["nomor-antrean", "be", "nol", "sepuluh", "silakan-menuju-loket", "dua"]),
        ("C112", 4, "Nomor antrean, C, seratus dua belas, silakan menuju loket empat.",
         ["nomor-antrean", "ce", "seratus", "dua", "belas", "silakan-menuju-loket", "empat"]),
        ("D100", 5, "Nomor antrean, D, seratus, silakan menuju loket lima.",
         ["nomor-antrean", "de", "seratus", "silakan-menuju-loket", "lima"]),
        ("E011", 6, "Nomor antrean, E, nol sebelas, silakan menuju loket enam.",
         ["nomor-antrean", "e", "nol", "sebelas", "silakan-menuju-loket", "enam"]),
        ("F999", 7, "Nomor antrean, F, sembilan ratus sembilan puluh sembilan, silakan menuju loket tujuh.",
         ["nomor-antrean", "ef", "sembilan", "ratus", "sembilan", "puluh", "sembilan",
          "silakan-menuju-loket", "tujuh"]),
        ("G1000", 8, "Nomor antrean, G, seribu, silakan menuju loket delapan.",
         ["nomor-antrean", "ge", "seribu", "silakan-menuju-loket", "delapan"]),
        ("X0101", 9, "Nomor antrean, X, nol seratus satu, silakan menuju loket sembilan.",
         ["nomor-antrean", "eks", "nol", "seratus", "satu", "silakan-menuju-loket", "sembilan"]),
        ("Z000", 10, "Nomor antrean, Z, nol nol nol, silakan menuju loket sepuluh.",
         ["nomor-antrean", "zet", "nol", "nol", "nol", "silakan-menuju-loket", "sepuluh"]),
    ],
)
def test_call_reading(number: str, counter: int, text: str, words: list[str]) -> None:
    assert text_id(number, counter) == text
    assert spoken_words(number, counter) == words
    assert announcement(number, counter)["id"] == text
    assert announcement(number, counter)["words"] == words


NUMBERS = {
    0: "nol", 1: "satu", 2: "dua", 3: "tiga", 4: "empat", 5: "lima", 6: "enam", 7: "tujuh", 8: "delapan",
    9: "sembilan", 10: "sepuluh", 11: "sebelas", 12: "dua belas", 13: "tiga belas", 14: "empat belas",
    15: "lima belas", 16: "enam belas", 17: "tujuh belas", 18: "delapan belas", 19: "sembilan belas",
    20: "dua puluh", 21: "dua puluh satu", 99: "sembilan puluh sembilan", 100: "seratus",
    101: "seratus satu", 110: "seratus sepuluh", 111: "seratus sebelas", 119: "seratus sembilan belas",
    200: "dua ratus", 999: "sembilan ratus sembilan puluh sembilan", 1000: "seribu", 1001: "seribu satu",
    2024: "dua ribu dua puluh empat", 11000: "sebelas ribu",
    # beyond the brief's list: the "se-" forms stay inside larger numbers
    1100: "seribu seratus", 1111: "seribu seratus sebelas", 10000: "sepuluh ribu",
    100000: "seratus ribu", 999999: "sembilan ratus sembilan puluh sembilan ribu sembilan ratus "
    "sembilan puluh sembilan",
}


@pytest.mark.parametrize(("n", "text"), sorted(NUMBERS.items()))
def test_number_words(n: int, text: str) -> None:
    assert number_words(n) == text.split()


@pytest.mark.parametrize("n", [-1, 1_000_000])
def test_number_words_out_of_range(n: int) -> None:
    with pytest.raises(ValueError):
        number_words(n)


@pytest.mark.parametrize(
    ("counter", "spoken"),
    [(11, "sebelas"), (12, "dua belas"), (20, "dua puluh"), (90, "sembilan puluh"), (100, "seratus"),
     (120, "seratus dua puluh")],
)
def test_counter_numbers(counter: int, spoken: str) -> None:
    assert text_id("A012", counter) == f"Nomor antrean, A, nol dua belas, silakan menuju loket {spoken}."
    assert spoken_words("A012", counter)[-len(spoken.split()):] == spoken.split()
    assert spoken_words("A012", counter)[-len(spoken.split()) - 1] == "silakan-menuju-loket"


@pytest.mark.parametrize(
    ("number", "counter", "text"),
    [
        ("A012", 3, "Number A, zero one two, please go to counter three."),
        ("A001", 1, "Number A, zero zero one, please go to counter one."),
        ("B010", 11, "Number B, zero one zero, please go to counter eleven."),
        ("C112", 12, "Number C, one one two, please go to counter twelve."),
        ("D099", 20, "Number D, zero nine nine, please go to counter twenty."),
        ("E500", 21, "Number E, five zero zero, please go to counter twenty-one."),
        ("F007", 90, "Number F, zero zero seven, please go to counter ninety."),
        ("G123", 100, "Number G, one two three, please go to counter one hundred."),
        ("H123", 115, "Number H, one two three, please go to counter one hundred fifteen."),
        ("AB012", 3, "Number A, B, zero one two, please go to counter three."),
    ],
)
def test_english_text(number: str, counter: int, text: str) -> None:
    assert text_en(number, counter) == text
    assert announcement(number, counter)["en"] == text


def test_multi_letter_prefixes() -> None:
    assert spoken_words("AB012", 3) == [
        "nomor-antrean", "a", "be", "nol", "dua", "belas", "silakan-menuju-loket", "tiga"]
    assert text_id("AB012", 3) == "Nomor antrean, A, B, nol dua belas, silakan menuju loket tiga."
    assert ticket_words("XYZ7") == ["eks", "ye", "zet", "tujuh"]
    assert text_id("KQ100", 2) == "Nomor antrean, K, Q, seratus, silakan menuju loket dua."
    assert ticket_words("kq100") == ticket_words("KQ100") == ["ka", "ki", "seratus"]
    assert ticket_words("A-012") == ticket_words("A012")


def test_letters_are_indonesian_letter_names() -> None:
    assert announce.LETTERS == {
        "A": "a", "B": "be", "C": "ce", "D": "de", "E": "e", "F": "ef", "G": "ge", "H": "ha", "I": "i",
        "J": "je", "K": "ka", "L": "el", "M": "em", "N": "en", "O": "o", "P": "pe", "Q": "ki", "R": "er",
        "S": "es", "T": "te", "U": "u", "V": "ve", "W": "we", "X": "eks", "Y": "ye", "Z": "zet",
    }


def test_no_counter_no_announcement() -> None:
    assert announcement("A012", None) == {}


def test_every_call_word_is_in_the_vocabulary() -> None:
    """Every word of every call A-Z 1..9999 (as 3- and 4-digit tickets) at counters 1..120 has a clip.

    A call's words are the opening, the ticket's words, the phrase and the counter's words, each part
    independent of the others (checked on a sample), so covering every letter x number pair and every
    counter covers every combination.
    """
    known = set(vocabulary())
    for number, counter in [("A012", 3), ("QZ9999", 120), ("B0001", 57)]:
        assert spoken_words(number, counter) == [
            announce.OPENING, *ticket_words(number), announce.TO_COUNTER, *number_words(counter)]
    seen: set[str] = set()
    counters = itertools.cycle(range(1, 121))
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        for n in range(1, 10000):
            seen.update(spoken_words(f"{letter}{n:03d}", next(counters)))
            seen.update(ticket_words(f"{letter}{n:04d}"))
    for counter in range(1, 121):
        seen.update(number_words(counter))
    assert seen - known == set()
    # and the vocabulary has nothing a call never says
    assert known - seen == set()


# --- the recorded clips -------------------------------------------------------------------------------


def _manifest() -> dict:
    return json.loads((VOICE_DIR / "manifest.json").read_text(encoding="utf-8"))


_CRC_TABLE = []
for _i in range(256):
    _r = _i << 24
    for _ in range(8):
        _r = ((_r << 1) ^ 0x04C11DB7) if _r & 0x80000000 else (_r << 1)
    _CRC_TABLE.append(_r & 0xFFFFFFFF)


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[((crc >> 24) & 0xFF) ^ byte]
    return crc


def _ogg_pages(data: bytes) -> list[tuple[int, int, list[bytes]]]:
    """(header type, granule position, segments joined into packets-or-parts) of each page, CRC checked."""
    pages = []
    pos = 0
    while pos < len(data):
        assert data[pos:pos + 4] == b"OggS", f"no Ogg page at byte {pos}"
        version, kind, granule, _serial, _seq, crc, count = struct.unpack_from("<BBqIIIB", data, pos + 4)
        assert version == 0
        lacing = data[pos + 27:pos + 27 + count]
        size = 27 + count + sum(lacing)
        page = bytearray(data[pos:pos + size])
        page[22:26] = b"\0\0\0\0"
        assert _ogg_crc(bytes(page)) == crc, f"bad Ogg CRC at byte {pos}"
        body = data[pos + 27 + count:pos + size]
        packets, start, length = [], 0, 0
        for lace in lacing:
            length += lace
            if lace < 255:
                packets.append(body[start:start + length])
                start, length = start + length, 0
        if length:
            packets.append(body[start:start + length])
        pages.append((kind, granule, packets))
        pos += size
    return pages


def _opus_seconds(path: Path) -> float:
    pages = _ogg_pages(path.read_bytes())
    head = pages[0][2][0]
    assert head[:8] == b"OpusHead", "the first packet is not an Opus ID header"
    version, channels, pre_skip = struct.unpack_from("<BBH", head, 8)
    assert version == 1 and channels == 1
    assert pages[0][0] & 0x02, "the first page has no beginning-of-stream flag"
    assert pages[1][2][0][:8] == b"OpusTags", "the second packet is not an Opus comment header"
    assert pages[-1][0] & 0x04, "the last page has no end-of-stream flag"
    return (pages[-1][1] - pre_skip) / 48000


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        assert w.getcomptype() == "NONE"
        assert w.getnframes() > 0
        return w.getnframes() / w.getframerate()


def _mp3_seconds(path: Path, ms: int) -> float:
    data = path.read_bytes()
    if data[:3] == b"ID3":
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        data = data[10 + size:]
    assert data[0] == 0xFF and data[1] & 0xE0 == 0xE0, "no MPEG frame sync"
    return ms / 1000


def _seconds(path: Path, fmt: str, ms: int) -> float:
    if fmt in ("opus", "ogg"):
        return _opus_seconds(path)
    if fmt == "wav":
        return _wav_seconds(path)
    if fmt == "mp3":
        return _mp3_seconds(path, ms)
    raise AssertionError(f"unknown clip format {fmt!r}")


def test_manifest_covers_the_vocabulary() -> None:
    manifest = _manifest()
    assert manifest["format"] in ("opus", "ogg", "wav", "mp3")
    assert set(vocabulary()) <= set(manifest["words"])
    assert manifest["chime"]["file"] == f"chime.{manifest['format']}"
    assert manifest["generator"]
    listed = {entry["file"] for entry in manifest["words"].values()} | {manifest["chime"]["file"]}
    on_disk = {p.name for p in VOICE_DIR.iterdir() if p.name != "manifest.json"}
    assert on_disk == listed, "clips on disk and in manifest.json differ"


@pytest.mark.parametrize("name", [*vocabulary(), "chime"])
def test_clip_file(name: str) -> None:
    manifest = _manifest()
    fmt = manifest["format"]
    entry = manifest["chime"] if name == "chime" else manifest["words"][name]
    assert entry["file"] == f"{name}.{fmt}"
    path = VOICE_DIR / entry["file"]
    assert path.is_file() and path.stat().st_size > 0
    seconds = _seconds(path, fmt, entry["ms"])
    low, high = (0.5, 2.5) if name == "chime" else (0.15, 2.5)
    assert low <= seconds <= high, f"{path.name} lasts {seconds:.3f} s"
    assert abs(seconds * 1000 - entry["ms"]) <= 30, f"{path.name}: manifest says {entry['ms']} ms"
