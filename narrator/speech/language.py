"""The language a voice speaks, as a language tag (RFC 5646), read from its id alone."""

from __future__ import annotations

import re

# espeak-ng: "gmw/en-us", "roa/fr", "fr"; Piper: "en_US-joe-medium" or a path to its .onnx
_PIPER = re.compile(r"([a-z]{2,3})_([A-Z]{2})-")
_ESPEAK = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*", re.IGNORECASE)


def voice_language(voice: str) -> str | None:
    """E.g. "gmw/en-us" -> "en-us", "roa/fr" -> "fr", "en_GB-alan-low.onnx" -> "en-GB";
    None when the id does not name a language (a variant such as "en+f3" still does)."""
    name = re.split(r"[/\\]", voice.strip())[-1].removesuffix(".onnx")
    if piper := _PIPER.match(name):
        return f"{piper[1]}-{piper[2]}"
    name = name.split("+", 1)[0]  # espeak-ng's voice variants: "en+f3"
    return name.lower() if _ESPEAK.fullmatch(name) else None
