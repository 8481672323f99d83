"""Regenerate the hall display's recorded voice: display/static/voice/id/.

A developer tool, run by hand when the vocabulary or the voice changes; it is
not run at install or test time, and the files it writes are committed. For
each clip name of ``queue_server.domain.announce.vocabulary()`` it synthesises
the Indonesian word with espeak-ng (voice ``id``), trims the silence around it
(keeping a very short gap, so chained clips sound like one sentence), evens
the loudness, and encodes it; then it synthesises ``chime`` (a two-tone
"ding-dong") in plain Python and writes ``manifest.json``.

Needs, on the developer's machine only: ``espeak-ng`` and, for the default
Ogg/Opus output, ``opusenc`` (Debian: ``apt-get install espeak-ng opus-tools``).

    .venv/bin/python display/voice/make_clips.py            # Ogg/Opus, the committed format
    .venv/bin/python display/voice/make_clips.py --format wav
    .venv/bin/python display/voice/make_clips.py --recordings ~/rekaman   # a human voice

With ``--recordings DIR``, ``DIR/<name>.wav`` (16-bit PCM, mono or stereo, any
rate) is used instead of espeak-ng wherever it exists, and goes through the
same trimming, levelling and encoding.
"""

from __future__ import annotations

import argparse
import array
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "display" / "static" / "voice" / "id"
RATE = 22050  # espeak-ng's own rate; the chime is made at it too
VOICE = "id"
SPEED = 145  # words per minute; espeak-ng's default is 175
OPUS_BITRATE = 32  # kbit/s, mono: clear speech, a few kB a clip
OPUS_SERIAL = 20240101  # a fixed Ogg stream serial, so regenerating gives the same bytes
PEAK = 0.70  # speech peaks at about -3 dBFS
CHIME_PEAK = 0.55  # the chime a little softer than the voice
LEAD_MS = 15  # silence kept before the first sound of a clip
TAIL_MS = 40  # and after the last: the "very short gap" between chained clips
FADE_MS = 4
AUDIO_EXTS = (".opus", ".ogg", ".wav", ".mp3")

# What espeak-ng is given for a clip, where it differs from the clip's name.
# Letters: the capital letter itself, which espeak-ng reads as the Indonesian
# letter name with a closed e (B "bé", C "cé", V "fé"), whereas the spelled
# names ("be", "ce") come out with an open e, and "es" with a closed one.
# Words: espeak-ng 1.51 reads the e of "empat", "enam", "belas", "sebelas"
# as an open e where Indonesian has a schwa, and the e of "loket" as a schwa
# where it is "é"; these are given as phonemes ([[...]], stress on the last
# syllable, as Indonesian puts it after a schwa). Checked with ``espeak-ng
# -v id -q --ipa``.
SOURCES = {
    "empat": "[[@mp'at]]",
    "enam": "[[@n'am]]",
    "belas": "[[b@l'as]]",
    "sebelas": "[[s@b@l'as]]",
    "nomor-antrean": "nomor [[antR'ean]]",
    "silakan-menuju-loket": "silakan menuju [[l'okEt]]",
}


def _announce_module():  # type: ignore[no-untyped-def]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from queue_server.domain import announce

    return announce


def source_text(name: str, letters: dict[str, str]) -> str:
    """What espeak-ng reads for the clip ``name``."""
    if name in SOURCES:
        return SOURCES[name]
    capital = {spoken: letter for letter, spoken in letters.items()}.get(name)
    if capital:
        return capital
    return name.replace("-", " ")


def espeak_version() -> str:
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"text-to-speech:\s*(\S+)", out)
    return match.group(1) if match else out.strip()


def synthesise(text: str, speed: int) -> array.array:
    """espeak-ng's reading of ``text`` as 16-bit mono samples at RATE."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.wav"
        subprocess.run(["espeak-ng", "-v", VOICE, "-s", str(speed), "-w", str(path), text], check=True)
        samples, rate = read_wav(path)
    if rate != RATE:
        raise SystemExit(f"espeak-ng wrote {rate} Hz, expected {RATE}")
    return samples


def read_wav(path: Path) -> tuple[array.array, int]:
    """16-bit PCM samples (stereo averaged to mono) and the sample rate."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise SystemExit(f"{path}: only 16-bit PCM WAV is read")
        channels, rate = w.getnchannels(), w.getframerate()
        data = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        data.byteswap()
    if channels > 1:
        frames = range(0, len(data), channels)
        data = array.array("h", (sum(data[i:i + channels]) // channels for i in frames))
    return data, rate


def resample(samples: array.array, rate: int) -> array.array:
    """Linear resampling to RATE (only for recordings made at another rate)."""
    if rate == RATE or not samples:
        return samples
    n = max(1, round(len(samples) * RATE / rate))
    out = array.array("h")
    for i in range(n):
        pos = i * rate / RATE
        j = min(int(pos), len(samples) - 1)
        k = min(j + 1, len(samples) - 1)
        out.append(round(samples[j] + (samples[k] - samples[j]) * (pos - j)))
    return out


def trim(samples: array.array) -> array.array:
    """Cut the silence before and after the sound, keeping LEAD_MS and TAIL_MS of it, with short fades."""
    window = RATE // 200  # 5 ms
    peak = max((abs(s) for s in samples), default=0)
    if peak == 0:
        raise SystemExit("a clip is silent")
    threshold = max(120.0, peak * 0.03)
    loud = [
        start for start in range(0, len(samples), window)
        if math.sqrt(sum(s * s for s in samples[start:start + window]) / len(samples[start:start + window]))
        > threshold
    ]
    first = max(0, loud[0] - RATE * LEAD_MS // 1000)
    last = min(len(samples), loud[-1] + window + RATE * TAIL_MS // 1000)
    out = samples[first:last]
    fade = RATE * FADE_MS // 1000
    for i in range(min(fade, len(out) // 2)):
        out[i] = int(out[i] * i / fade)
        out[-1 - i] = int(out[-1 - i] * i / fade)
    return out


def level(samples: array.array, peak: float) -> array.array:
    """Scale so the loudest sample is at ``peak`` of full scale."""
    top = max((abs(s) for s in samples), default=0) or 1
    gain = peak * 32767 / top
    return array.array("h", (max(-32768, min(32767, round(s * gain))) for s in samples))


def chime(seconds: float = 1.2) -> array.array:
    """A two-tone "ding-dong": G5 (784 Hz) then E5 (659 Hz), each a struck bell decaying exponentially."""
    n = int(RATE * seconds)
    notes = ((0.0, 784.0), (0.42, 659.0))  # (start s, Hz)
    partials = ((1.0, 1.0, 0.38), (2.0, 0.30, 0.16), (3.0, 0.12, 0.09))  # (× f, amplitude, decay s)
    attack = int(RATE * 0.004)
    release = int(RATE * 0.08)
    out = array.array("h")
    for i in range(n):
        t = i / RATE
        value = 0.0
        for start, freq in notes:
            u = t - start
            if u < 0:
                continue
            onset = min(1.0, (u * RATE) / attack) if attack else 1.0
            for multiple, amplitude, decay in partials:
                ring = math.sin(2 * math.pi * freq * multiple * u)
                value += onset * amplitude * math.exp(-u / decay) * ring
        if i >= n - release:
            value *= (n - i) / release
        out.append(round(value * 10000))
    return level(out, CHIME_PEAK)


def write_wav(path: Path, samples: array.array) -> None:
    data = array.array("h", samples)
    if sys.byteorder == "big":
        data.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data.tobytes())


def encode(samples: array.array, path: Path, fmt: str) -> None:
    """Write the clip as ``path`` in ``fmt`` ("opus": Ogg/Opus through opusenc; "wav": 16-bit PCM)."""
    if fmt == "wav":
        write_wav(path, samples)
        return
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "clip.wav"
        write_wav(source, samples)
        subprocess.run(
            ["opusenc", "--quiet", "--bitrate", str(OPUS_BITRATE), "--comp", "10", "--padding", "0",
             "--serial", str(OPUS_SERIAL), str(source), str(path)],
            check=True,
        )


def manifest_json(manifest: dict[str, object]) -> str:
    """The manifest as JSON with one line per clip, so a regeneration shows as a readable diff."""
    words: dict[str, object] = manifest["words"]  # type: ignore[assignment]
    lines = [f' {json.dumps(name)}: {json.dumps(entry)}' for name, entry in words.items()]
    return (
        "{\n"
        f' "format": {json.dumps(manifest["format"])},\n'
        ' "words": {\n' + ",\n".join(" " + line for line in lines) + "\n },\n"
        f' "chime": {json.dumps(manifest["chime"])},\n'
        f' "generator": {json.dumps(manifest["generator"], ensure_ascii=False)}\n'
        "}\n"
    )


def duration_ms(samples: array.array) -> int:
    return round(len(samples) * 1000 / RATE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=("opus", "wav"), default="opus")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--speed", type=int, default=SPEED, help="espeak-ng words per minute")
    parser.add_argument("--recordings", type=Path, help="a folder of <name>.wav recordings to use instead")
    args = parser.parse_args(argv)

    needed = ["espeak-ng"] + (["opusenc"] if args.format == "opus" else [])
    missing = [tool for tool in needed if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: apt-get install espeak-ng opus-tools")

    announce = _announce_module()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    ext = args.format
    manifest: dict[str, object] = {"format": ext, "words": {}}
    words: dict[str, dict[str, object]] = {}
    recorded: list[str] = []
    for name in announce.vocabulary():
        recording = args.recordings / f"{name}.wav" if args.recordings else None
        if recording is not None and recording.exists():
            samples = resample(*read_wav(recording))
            recorded.append(name)
        else:
            samples = synthesise(source_text(name, announce.LETTERS), args.speed)
        samples = level(trim(samples), PEAK)
        encode(samples, out / f"{name}.{ext}", ext)
        words[name] = {"file": f"{name}.{ext}", "ms": duration_ms(samples)}
        print(f"{name:<22} {words[name]['ms']:>5} ms  {(out / f'{name}.{ext}').stat().st_size:>6} B")
    bell = chime()
    encode(bell, out / f"chime.{ext}", ext)
    manifest["words"] = words
    manifest["chime"] = {"file": f"chime.{ext}", "ms": duration_ms(bell)}
    generator = f"espeak-ng {espeak_version()} voice {VOICE}, speed {args.speed} wpm, silence trimmed"
    if recorded:
        generator = f"recordings ({len(recorded)} clips), the rest {generator}"
    if ext == "opus":
        generator += f"; Ogg/Opus {OPUS_BITRATE} kbit/s mono (opusenc)"
    manifest["generator"] = generator
    (out / "manifest.json").write_text(manifest_json(manifest), encoding="utf-8")

    written = {f"{name}.{ext}" for name in words} | {f"chime.{ext}"}
    for stale in sorted(out.iterdir()):
        if stale.suffix in AUDIO_EXTS and stale.name not in written:
            print(f"removing stale {stale.name}")
            stale.unlink()
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"{len(written)} clips + manifest.json in {out}: {total / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
