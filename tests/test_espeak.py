"""The engine, with a regression test for each pyttsx3 2.99 defect it works around."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from narrator.errors import SettingsError
from narrator.speech.engine import Prosody
from narrator.speech.espeak import MAX_ENGINE_CHARS, EspeakConfig, Pyttsx3Engine, split_for_engine


@pytest.fixture(scope="module")
def engine() -> Pyttsx3Engine:
    return Pyttsx3Engine(EspeakConfig("gmw/en-us"))


def seconds(pcm: bytes) -> float:
    return len(pcm) / 2 / 22050


def test_waits_for_the_whole_utterance_despite_early_return(engine: Pyttsx3Engine) -> None:
    # runAndWait returns ~10 ms after queueing; without waiting, long text comes out cut.
    text = " ".join(["The river runs quietly past the old mill."] * 10)
    first = engine.synthesize(text, Prosody(175, 50, 1.0))
    second = engine.synthesize(text, Prosody(175, 50, 1.0))
    words = len(text.split())
    assert seconds(first.pcm) > words / 260 * 60  # complete speech, not a cut-off prefix
    assert first.pcm == second.pcm  # nothing cancelled, nothing left over from the last call


def test_long_text_does_not_crash_and_is_fully_spoken(engine: Pyttsx3Engine) -> None:
    # pyttsx3 hands espeak a len*10 buffer: ~18,000 characters segfaulted.
    text = "word " * 5000
    audio = engine.synthesize(text, Prosody(300, 50, 1.0))
    assert seconds(audio.pcm) > 5000 / 450 * 60


def test_utterances_sent_to_espeak_stay_short(
    engine: Pyttsx3Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The driver's buffer grows quadratically with utterance length; we keep them short.
    from pyttsx3.drivers import _espeak

    lengths: list[int] = []
    real = _espeak.Synth

    def recording(text: bytes, *args: object, **kwargs: object) -> object:
        lengths.append(len(text))
        return real(text, *args, **kwargs)

    monkeypatch.setattr(_espeak, "Synth", recording)
    engine.synthesize("A sentence that goes on. " * 120, Prosody(155, 50, 1.0))
    assert len(lengths) >= 6
    assert max(lengths) <= MAX_ENGINE_CHARS


def test_split_for_engine_cuts_at_spaces_and_hard_splits_giant_words() -> None:
    pieces = split_for_engine("alpha " * 300)
    assert all(len(p) <= MAX_ENGINE_CHARS and not p.endswith(" ") for p in pieces)
    assert " ".join(pieces).split() == ["alpha"] * 300
    giant = split_for_engine("x" * 1234)
    assert [len(p) for p in giant] == [500, 500, 234]


def test_nothing_is_printed_on_stdout(engine: Pyttsx3Engine, capfd: pytest.CaptureFixture) -> None:
    capfd.readouterr()
    engine.synthesize("Quiet, please.", Prosody(155, 50, 1.0))
    out, _ = capfd.readouterr()
    assert "Audio saved" not in out
    assert out == ""


def test_engine_in_parent_does_not_hang_the_worker_pool(tmp_path) -> None:
    # An engine created before fork hangs the child; the pool must use spawn.
    code = textwrap.dedent(
        """
        from narrator.speech.espeak import EspeakConfig, Pyttsx3Engine
        from narrator.speech.engine import Prosody
        from narrator.model import Script, ScriptChapter, Segment
        from pathlib import Path
        from narrator.cache import AudioCache
        from narrator.speech.pool import SEGMENTS, Voice, finished, submit, synthesis_pool
        from narrator.speech.pool import utterance_keys, utterances
        Pyttsx3Engine(EspeakConfig("gmw/en-us")).synthesize("parent", Prosody(155, 50, 1.0))
        script = Script("t", None, (ScriptChapter("c", tuple(
            Segment(f"Sentence number {i}.", 500) for i in range(6))),))
        voice = Voice(EspeakConfig("gmw/en-us"), Prosody(155, 50, 1.0))
        keys = utterance_keys(script, voice)
        store = AudioCache(Path("store"))
        if __name__ == "__main__":
            with synthesis_pool(2) as pool:
                for future in submit(pool, voice, utterances(script), keys, store):
                    finished(future)
            clips = [store.get(SEGMENTS, keys[u]) for u in utterances(script)]
            assert len(clips) == 6 and all(clips)
            print("ok")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_prosody_changes_the_sound(engine: Pyttsx3Engine) -> None:
    text = "Emphasis should be audible."
    plain = engine.synthesize(text, Prosody(175, 50, 1.0))
    slow = engine.synthesize(text, Prosody(120, 50, 1.0))
    high = engine.synthesize(text, Prosody(175, 80, 1.0))
    assert seconds(slow.pcm) > seconds(plain.pcm) * 1.2
    assert high.pcm != plain.pcm


def test_unknown_voice_is_a_settings_error(engine: Pyttsx3Engine) -> None:
    with pytest.raises(SettingsError, match="unknown voice"):
        engine.set_voice("no-such-voice")
    engine.set_voice("gmw/en-us")


def test_voices_include_english(engine: Pyttsx3Engine) -> None:
    ids = {v.id for v in engine.voices()}
    assert {"gmw/en-us", "gmw/en"} <= ids


def test_audio_does_not_depend_on_what_was_said_before(engine: Pyttsx3Engine) -> None:
    # espeak-ng carries pitch flutter and one more bit of state between utterances; the
    # engine undoes both, so a sentence sounds the same whatever preceded it.
    texts = [
        "The river runs quietly past the old mill.",
        "Something else entirely, with more words in it.",
        "a.",
        "Zebra crossing at 3 am!",
        "one",
        "Hello.",
    ]
    first = {t: engine.synthesize(t, Prosody(165, 50, 1.0)).pcm for t in texts}
    for t in reversed(texts):
        engine.synthesize("b", Prosody(120, 70, 1.0))
        assert engine.synthesize(t, Prosody(165, 50, 1.0)).pcm == first[t], t
