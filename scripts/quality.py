"""Listening-quality check: how well an offline recognizer understands each engine.

Run through scripts/quality (which installs the piper and quality extras into .venv). For
each engine, a passage (default: the whole seed essay) is built with `narrator build`,
decoded to 16 kHz mono with the project's ffmpeg, cut at its pauses by PocketSphinx's
voice activity detector and transcribed with PocketSphinx's bundled en-us model. The word
error rate is taken against the spoken script (`narrator script --format json`: the words
actually said after the lexicon and normalization), both sides lowercased and stripped of
punctuation. It is a rough, repeatable proxy for intelligibility, to compare engines or a
change to normalization or pacing; lower is better.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED = REPO.parent / "shared" / "seeds" / "000_52290ec427b70c5b.txt"
RATE = 16000  # PocketSphinx's en-us model is trained on 16 kHz audio


def narrator(*args: str | Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "narrator", *map(str, args)],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"quality: narrator {' '.join(map(str, args))} failed: {proc.stderr.strip()}")
    return proc.stdout


def passage(essay: Path, chars: int | None, folder: Path) -> Path:
    """The essay, or its first whole lines up to `chars` characters (at least one line)."""
    text = essay.read_text(encoding="utf-8")
    if chars is not None and len(text) > chars:
        cut = text.rfind("\n", 0, chars + 1)
        if cut <= 0:  # the first line alone is longer: keep it whole
            cut = text.find("\n") if "\n" in text else len(text)
        text = text[:cut] + "\n"
    path = folder / essay.name
    path.write_text(text, encoding="utf-8")
    return path


def words(text: str) -> list[str]:
    """Lowercase words without punctuation; hyphens and dashes separate words, as the
    recognizer hears "ninety-five" as two."""
    text = re.sub(r"[-\u2010-\u2015/]", " ", text.lower().replace("\u2019", "'"))
    text = re.sub(r"[^a-z0-9' ]", " ", text)
    return [word.strip("'") for word in text.split() if word.strip("'")]


def spoken_script(essay: Path) -> list[str]:
    script = json.loads(narrator("script", essay, "--format", "json"))
    return words(" ".join(s["text"] for c in script["chapters"] for s in c["segments"]))


def transcribe(mp3: Path) -> tuple[list[str], float]:
    """PocketSphinx's words for `mp3`, utterance by utterance, and the audio's seconds."""
    from pocketsphinx import Decoder, Segmenter

    from narrator.ffmpeg import find_ffmpeg

    pcm = subprocess.run(
        [find_ffmpeg(), "-v", "error", "-i", str(mp3), "-f", "s16le", "-ac", "1",
         "-ar", str(RATE), "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    decoder = Decoder(samprate=RATE, loglevel="FATAL")
    heard: list[str] = []
    for speech in Segmenter(sample_rate=RATE).segment(io.BytesIO(pcm)):
        decoder.start_utt()
        decoder.process_raw(speech.pcm, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        if hypothesis is not None:
            heard += words(hypothesis.hypstr)
    return heard, len(pcm) / 2 / RATE


def word_error_rate(reference: list[str], heard: list[str]) -> float:
    import jiwer

    return float(jiwer.wer(" ".join(reference), " ".join(heard)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("essay", nargs="?", type=Path, default=SEED, help="default: the seed")
    parser.add_argument("--chars", type=int, help="only the first N characters (whole lines)")
    parser.add_argument("--engines", default="espeak,piper", help="comma-separated")
    parser.add_argument("--keep", type=Path, help="folder to keep the MP3s and transcripts in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="narrator-quality-") as temp:
        folder = args.keep or Path(temp)
        folder.mkdir(parents=True, exist_ok=True)
        essay = passage(args.essay.resolve(), args.chars, Path(temp))
        reference = spoken_script(essay)
        print(f"passage: {args.essay.name}, {len(reference)} words of spoken script")
        print(f"{'engine':8} {'audio':>8} {'build':>7} {'words heard':>11} {'WER':>6}")
        for engine in args.engines.split(","):
            mp3 = folder / f"{engine}.mp3"
            started = time.perf_counter()
            narrator("build", essay, "--engine", engine, "-o", mp3, "-q")
            built = time.perf_counter() - started
            heard, seconds = transcribe(mp3)
            (folder / f"{engine}.heard.txt").write_text(" ".join(heard) + "\n", encoding="utf-8")
            wer = word_error_rate(reference, heard)
            print(f"{engine:8} {seconds:7.1f}s {built:6.1f}s {len(heard):11} {wer:6.3f}")
        if args.keep:
            (folder / "reference.txt").write_text(" ".join(reference) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
