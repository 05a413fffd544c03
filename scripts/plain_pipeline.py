"""The plain pipeline a user without narrator would script, for scripts/bench to beat:

    espeak-ng -v en-us -s RATE -w episode.wav -f essay.md
    ffmpeg -i episode.wav -ar 44100 -ac 1 -b:a 64k episode.mp3

This machine has no espeak-ng program, only the library that the espeakng-loader package
ships, so the first step drives libespeak-ng directly, as the program does: synchronous
output, the whole file as one text, samples written to the WAV as they come. The second
step is the same ffmpeg that narrator uses, with ffmpeg's defaults for everything else.

Usage: python scripts/plain_pipeline.py ESSAY OUT.mp3 [RATE]
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
import wave
from pathlib import Path

_SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS
_RATE = 1  # espeakRATE
_CHARS_AUTO = 0
_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


def speak_to_wav(text: bytes, wav_path: Path, rate: int) -> None:
    """`espeak-ng -v en-us -s RATE -w WAV`: the whole text, through libespeak-ng."""
    import espeakng_loader

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    text_args = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint]
    lib.espeak_Synth.argtypes = [*text_args, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    data = espeakng_loader.get_data_path().encode()
    sample_rate = lib.espeak_Initialize(_SYNCHRONOUS, 0, data, 0)
    with wave.open(str(wav_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)

        def write(samples: ctypes._Pointer, count: int, _events: int) -> int:
            if count > 0:
                wav.writeframesraw(ctypes.string_at(samples, count * 2))
            return 0

        callback = _Callback(write)
        lib.espeak_SetSynthCallback(callback)
        lib.espeak_SetVoiceByName(b"en-us")
        lib.espeak_SetParameter(_RATE, rate, 0)
        lib.espeak_Synth(text + b"\0", len(text) + 1, 0, 0, 0, _CHARS_AUTO, None, None)
        lib.espeak_Synchronize()


def main() -> None:
    import imageio_ffmpeg

    essay, out = Path(sys.argv[1]), Path(sys.argv[2])
    rate = int(sys.argv[3]) if len(sys.argv) > 3 else 155
    wav = out.with_suffix(".wav")
    speak_to_wav(essay.read_bytes(), wav, rate)
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-i", str(wav), "-ar", "44100", "-ac", "1", "-b:a", "64k",
         str(out)],
        check=True,
    )  # fmt: skip
    wav.unlink()


if __name__ == "__main__":
    main()
