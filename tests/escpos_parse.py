"""A small, strict ESC/POS parser for tests (not a test module).

It walks the bytes the way a printer would and records what would come out:
text lines with their style, QR codes, images, feeds and cuts. Any ESC, GS,
DLE or FS sequence it does not know raises ValueError instead of being
skipped, so a test notices when the layout starts sending something new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

ESC, GS, DLE, LF, CR = 0x1B, 0x1D, 0x10, 0x0A, 0x0D

#: ESC t n -> Python codec, for the tables these tests can meet.
CODE_PAGES: dict[int, str] = {
    0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865",
    16: "cp1252", 17: "cp866", 18: "cp852", 19: "cp858",
}

# ESC <c> followed by a fixed number of parameter bytes.
_ESC_FIXED: dict[int, tuple[str, int]] = {
    ord("@"): ("ESC @", 0),
    ord("a"): ("ESC a", 1),
    ord("E"): ("ESC E", 1),
    ord("G"): ("ESC G", 1),
    ord("-"): ("ESC -", 1),
    ord("!"): ("ESC !", 1),
    ord("t"): ("ESC t", 1),
    ord("d"): ("ESC d", 1),
    ord("J"): ("ESC J", 1),
    ord("M"): ("ESC M", 1),
    ord("2"): ("ESC 2", 0),
    ord("3"): ("ESC 3", 1),
    ord("{"): ("ESC {", 1),
    ord("r"): ("ESC r", 1),
}
# GS <c> followed by a fixed number of parameter bytes (GS V, GS v, GS ( are special).
_GS_FIXED: dict[int, tuple[str, int]] = {
    ord("!"): ("GS !", 1),
    ord("B"): ("GS B", 1),
    ord("b"): ("GS b", 1),
}


class Run(NamedTuple):
    """Text printed in one style on one line."""

    text: str
    width_mult: int
    height_mult: int
    bold: bool


@dataclass
class Line:
    """One printed line: its runs, alignment (0 left, 1 centre, 2 right) and width in columns."""

    runs: list[Run]
    align: int

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)

    @property
    def columns(self) -> int:
        return sum(len(run.text) * run.width_mult for run in self.runs)


@dataclass
class Receipt:
    """What the printer would do with the bytes."""

    printed: list[Line] = field(default_factory=list)
    qr_data: list[str] = field(default_factory=list)
    qr_printed: int = 0
    qr_model: int | None = None
    qr_module_size: int | None = None
    qr_ecc: str | None = None
    images: list[tuple[int, int]] = field(default_factory=list)  # (width dots, height dots)
    cuts: int = 0
    code_page: int | None = None
    status_queries: list[int] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [line.text for line in self.printed]

    @property
    def styled(self) -> list[Run]:
        return [run for line in self.printed for run in line.runs]

    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class _State:
    align: int = 0
    bold: bool = False
    width: int = 1
    height: int = 1
    code_page: int = 0


class _Parser:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.state = _State()
        self.receipt = Receipt()
        self.runs: list[Run] = []
        self.line_align = 0

    # -- reading -----------------------------------------------------------
    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError(f"truncated {what} at offset {self.pos}: need {n} bytes")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    # -- output ------------------------------------------------------------
    def add_text(self, raw: bytes) -> None:
        codec = CODE_PAGES.get(self.state.code_page)
        if codec is None:
            raise ValueError(f"text in unknown code page {self.state.code_page}")
        if not self.runs:
            self.line_align = self.state.align
        text = raw.decode(codec)
        style = (self.state.width, self.state.height, self.state.bold)
        if self.runs and tuple(self.runs[-1][1:]) == style:
            last = self.runs.pop()
            text = last.text + text
        self.runs.append(Run(text, *style))
        self.receipt.commands.append("TEXT")

    def end_line(self, *, blank_if_empty: bool) -> None:
        if self.runs or blank_if_empty:
            self.receipt.printed.append(Line(self.runs, self.line_align if self.runs else self.state.align))
        self.runs = []

    def command(self, name: str) -> None:
        self.receipt.commands.append(name)

    # -- commands ----------------------------------------------------------
    def esc(self) -> None:
        code = self.byte("ESC command")
        if code == ord("*"):
            mode = self.byte("ESC * mode")
            n = int.from_bytes(self.take(2, "ESC * width"), "little")
            self.take(n * (1 if mode in (0, 1) else 3), "ESC * data")
            self.command("ESC *")
            return
        if code not in _ESC_FIXED:
            raise ValueError(f"unknown command ESC 0x{code:02x} at offset {self.pos - 2}")
        name, nparams = _ESC_FIXED[code]
        params = self.take(nparams, name)
        self.command(name)
        s = self.state
        if name == "ESC @":
            self.end_line(blank_if_empty=False)
            self.state = _State()
        elif name == "ESC a":
            if params[0] not in (0, 1, 2, 48, 49, 50):
                raise ValueError(f"bad ESC a {params[0]}")
            s.align = params[0] % 48
        elif name == "ESC E":
            s.bold = bool(params[0] & 1)
        elif name == "ESC !":
            s.bold = bool(params[0] & 0x08)
            s.height = 2 if params[0] & 0x10 else 1
            s.width = 2 if params[0] & 0x20 else 1
        elif name == "ESC t":
            s.code_page = params[0]
            self.receipt.code_page = params[0]
        elif name in ("ESC d", "ESC J"):
            self.end_line(blank_if_empty=False)

    def gs(self) -> None:
        code = self.byte("GS command")
        if code in _GS_FIXED:
            name, nparams = _GS_FIXED[code]
            params = self.take(nparams, name)
            self.command(name)
            if name == "GS !":
                self.state.width = (params[0] >> 4) + 1
                self.state.height = (params[0] & 0x0F) + 1
            return
        if code == ord("V"):
            mode = self.byte("GS V mode")
            if mode in (65, 66, 97, 98, 103, 104):
                self.byte("GS V n")
            elif mode not in (0, 1, 48, 49):
                raise ValueError(f"bad GS V mode {mode}")
            self.end_line(blank_if_empty=False)
            self.command("GS V")
            self.receipt.cuts += 1
            return
        if code == ord("v"):
            if self.byte("GS v 0") != ord("0"):
                raise ValueError("GS v must be followed by '0'")
            self.byte("GS v 0 mode")
            width_bytes = int.from_bytes(self.take(2, "GS v 0 x"), "little")
            height = int.from_bytes(self.take(2, "GS v 0 y"), "little")
            self.take(width_bytes * height, "GS v 0 data")
            self.receipt.images.append((width_bytes * 8, height))
            self.command("GS v 0")
            return
        if code == ord("("):
            fn_class = self.byte("GS ( class")
            size = int.from_bytes(self.take(2, "GS ( size"), "little")
            body = self.take(size, "GS ( body")
            if fn_class == ord("k"):
                self.qr(body)
            elif fn_class == ord("L"):
                self.graphics(body)
            else:
                raise ValueError(f"unknown command GS ( 0x{fn_class:02x}")
            return
        raise ValueError(f"unknown command GS 0x{code:02x} at offset {self.pos - 2}")

    def qr(self, body: bytes) -> None:
        if len(body) < 2 or body[0] != 49:
            raise ValueError(f"GS ( k for a symbol other than QR: {body[:2]!r}")
        fn, args = body[1], body[2:]
        r = self.receipt
        if fn == 65 and len(args) == 2:
            r.qr_model = args[0] - 48
        elif fn == 67 and len(args) == 1:
            r.qr_module_size = args[0]
        elif fn == 69 and len(args) == 1:
            r.qr_ecc = "LMQH"[args[0] - 48]
        elif fn == 80 and args[:1] == b"0":
            r.qr_data.append(args[1:].decode("utf-8"))
        elif fn == 81 and args == b"0":
            self.end_line(blank_if_empty=False)
            r.qr_printed += 1
        else:
            raise ValueError(f"unknown QR function {fn} with {args!r}")
        self.command(f"GS ( k {fn}")

    def graphics(self, body: bytes) -> None:
        if len(body) < 2 or body[0] != 48:
            raise ValueError(f"bad GS ( L body {body[:2]!r}")
        fn = body[1]
        if fn == 0x70:
            width = int.from_bytes(body[6:8], "little")
            height = int.from_bytes(body[8:10], "little")
            if len(body) != 10 + (width + 7) // 8 * height:
                raise ValueError("GS ( L raster size does not match its header")
            self.receipt.images.append((width, height))
        elif fn != 0x32:
            raise ValueError(f"unknown GS ( L function 0x{fn:02x}")
        self.command(f"GS ( L {chr(fn)}")

    def dle(self) -> None:
        code = self.byte("DLE command")
        if code != 0x04:
            raise ValueError(f"unknown command DLE 0x{code:02x}")
        n = self.byte("DLE EOT n")
        if n not in (1, 2, 3, 4):
            raise ValueError(f"bad DLE EOT {n}")
        self.receipt.status_queries.append(n)
        self.command("DLE EOT")

    def run(self) -> Receipt:
        data = self.data
        while self.pos < len(data):
            b = data[self.pos]
            if b >= 0x20:
                end = self.pos
                while end < len(data) and data[end] >= 0x20:
                    end += 1
                self.add_text(data[self.pos:end])
                self.pos = end
                continue
            self.pos += 1
            if b == LF:
                self.command("LF")
                self.end_line(blank_if_empty=True)
            elif b == CR:
                self.command("CR")
            elif b == ESC:
                self.esc()
            elif b == GS:
                self.gs()
            elif b == DLE:
                self.dle()
            else:
                raise ValueError(f"unknown control byte 0x{b:02x} at offset {self.pos - 1}")
        self.end_line(blank_if_empty=False)
        return self.receipt


def parse(data: bytes) -> Receipt:
    """Parse ESC/POS ``data``; raise ValueError on anything unknown or truncated."""
    return _Parser(data).run()
