"""`narrator build --cluster`: segments spoken on a Dask cluster's workers.

A real local cluster of process workers (distributed.LocalCluster) and the real command.
Both sides use the bundled espeak-ng (Debian's 1.51 is not reproducible, see
REFERENCE.md): the workers inherit this environment, as workers on other machines would
be set up alike.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOMS, THOREAU, reused, run_cached

from narrator.speech import pool
from narrator.speech.cluster import refusal
from narrator.speech.espeak import EspeakConfig

LIBRARY_ENV, DATA_ENV = "NARRATOR_ESPEAK_LIBRARY", "ESPEAK_DATA_PATH"
SKIP_REASON = "the cluster extra (dask[distributed]) is not installed; scripts/test installs it"


def _thoreau(*numbers: int) -> str:
    paragraphs = [p for p in THOREAU.read_text("utf-8").replace("\r\n", "\n").split("\n\n")]
    paragraphs = [p for p in paragraphs if p.strip() and not p.startswith("#")]
    return "\n\n".join(f"## Part {n}\n\n{paragraphs[n]}" for n in numbers)


ESSAYS = {  # three small essays; the last is long enough for two batches
    "rooms.md": ROOMS,
    "duty.md": "# On Duty\n\n" + _thoreau(2, 5),
    "government.md": "# On Government\n\n" + _thoreau(0, 1),
}


@pytest.fixture(scope="module")
def bundled_espeak() -> Iterator[None]:
    """The bundled espeak-ng for this process, its builds and the workers it starts."""
    import espeakng_loader

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(LIBRARY_ENV, espeakng_loader.get_library_path())
        patch.setenv(DATA_ENV, espeakng_loader.get_data_path())
        yield


def _local_cluster(**worker_env: str) -> Any:
    distributed = pytest.importorskip("distributed", reason=SKIP_REASON)
    return distributed.LocalCluster(
        n_workers=2 if not worker_env else 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: two clusters may run at once
        env=worker_env or None,
    )


@pytest.fixture(scope="module")
def cluster(bundled_espeak: None) -> Iterator[str]:
    """Two process workers on this machine; yields the scheduler's address."""
    with _local_cluster() as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def essays(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("essays")
    for name, text in ESSAYS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def local_builds(essays: Path, bundled_espeak: None) -> Path:
    """The three essays built locally (the worker pool), with a cache of their own."""
    out = essays.parent / "local"
    out.mkdir()
    proc = run_cached("build", essays, "-o", out, "-q", cache=out / "cache", cwd=out)
    assert proc.returncode == 0, proc.stderr
    return out


def test_three_essays_on_the_cluster_are_byte_identical_and_a_local_rebuild_reuses_them(
    cluster: str, essays: Path, local_builds: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    proc = run_cached(
        "build", essays, "-o", tmp_path, "--cluster", cluster, cache=cache, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    for name in ESSAYS:
        mp3 = Path(name).with_suffix(".mp3").name
        assert (tmp_path / mp3).read_bytes() == (local_builds / mp3).read_bytes(), name
    # the summary is the local one, plus how many workers spoke (Dask chooses: usually
    # both, for government.md's two batches)
    assert proc.stdout.count("reused 0 of") == 3
    assert re.search(r"cluster workers that spoke: [12]\n", proc.stdout), proc.stdout
    # each worker process kept the engine its first batch made, for the next batches
    from distributed import Client

    with Client(cluster, set_as_default=False, timeout=20) as client:
        kept = client.run(lambda: pool._worker_config)
    assert EspeakConfig("gmw/en-us") in kept.values(), kept
    # the cache is the client's: a local rebuild speaks nothing
    again = run_cached("build", essays, "-o", tmp_path, cache=cache, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "cluster workers" not in again.stdout
    for chunk in again.stdout.split("reused ")[1:]:
        done, total = reused("reused " + chunk)
        assert done == total


def test_a_worker_killed_mid_build_changes_nothing(
    cluster: str, essays: Path, local_builds: Path, tmp_path: Path
) -> None:
    from distributed import Client

    essay = essays / "government.md"
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(tmp_path / "cache")}
    build = subprocess.Popen(
        [sys.executable, "-m", "narrator", "build", essay, "-o", tmp_path, "-q",
         "--cluster", cluster],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        with Client(cluster, set_as_default=False, timeout=20) as client:
            pids = client.run(os.getpid)
            deadline = time.monotonic() + 60
            busy: list[str] = []
            while not busy and time.monotonic() < deadline and build.poll() is None:
                busy = [
                    worker
                    for worker, tasks in client.processing().items()
                    if any(str(task).startswith("narrator-speak") for task in tasks)
                ]
                time.sleep(0.02)
            assert busy, "no batch was ever seen on a worker"
            os.kill(pids[busy[0]], signal.SIGKILL)  # mid-batch; its nanny starts another
        _, stderr = build.communicate(timeout=120)
    finally:
        build.kill()
    assert build.returncode == 0, stderr
    assert (tmp_path / "government.mp3").read_bytes() == (
        local_builds / "government.mp3"
    ).read_bytes()


def test_a_mismatched_worker_is_refused_in_one_line(
    bundled_espeak: None, essays: Path, tmp_path: Path
) -> None:
    # this worker finds espeak-ng by its own search, not the library configured here
    with _local_cluster(**{LIBRARY_ENV: ""}) as odd:
        proc = run_cached(
            "build", essays / "rooms.md", "-o", tmp_path, "--cluster", odd.scheduler_address,
            cache=tmp_path / "cache", cwd=tmp_path,
        )  # fmt: skip
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("narrator: cluster worker tcp://127.0.0.1:")
    assert "espeak-ng origin " in lines[0] and "(here configured)" in lines[0]
    assert not (tmp_path / "rooms.mp3").exists()


def test_without_the_cluster_extra_exits_3_with_the_install_hint(
    essays: Path, tmp_path: Path
) -> None:
    # the command as installed without the extra: `distributed` cannot be imported
    code = (
        "import sys; sys.modules['distributed'] = None; from narrator.cli import main; "
        f"sys.argv = ['narrator', 'build', {str(essays / 'rooms.md')!r}, '-o', "
        f"{str(tmp_path)!r}, '--cluster', 'tcp://127.0.0.1:1']; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "narrator: building on a cluster needs Dask (the cluster extra);"
        " install it with: pip install 'narrator[cluster]'"
    ]


def test_the_refusal_names_the_worker_and_what_differs() -> None:
    here = {"narrator": "0.1.0", "espeak-ng": "1.52", "voice": "gmw/en-us"}
    there = {"narrator": "0.1.0", "espeak-ng": "1.51", "voice": "gmw/en-us"}
    assert refusal("tcp://10.0.0.5:4000", there, here) == (
        "cluster worker tcp://10.0.0.5:4000 refused: it has espeak-ng 1.51 (here 1.52)"
    )
    assert "narrator missing (here 0.1.0)" in refusal("w", {}, here)


def test_the_cluster_setting_is_not_an_essays_to_choose(tmp_path: Path) -> None:
    from narrator.config import Overrides, load_settings

    essay = tmp_path / "e.md"
    essay.write_text("x", encoding="utf-8")
    assert load_settings(essay, {"cluster": "tcp://evil:8786"}).cluster is None
    (tmp_path / "narrator.toml").write_text('cluster = "tcp://here:8786"\n', encoding="utf-8")
    assert load_settings(essay, {}).cluster == "tcp://here:8786"
    chosen = load_settings(essay, {}, Overrides(cluster="tcp://flag:8786"))
    assert chosen.cluster == "tcp://flag:8786"


def test_narrator_cluster_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from narrator.config import load_settings

    monkeypatch.setenv("NARRATOR_CLUSTER", "tcp://env:8786")
    essay = tmp_path / "e.md"
    essay.write_text("x", encoding="utf-8")
    assert load_settings(essay, {}).cluster == "tcp://env:8786"
