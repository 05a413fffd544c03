"""Speak a build's missing segments on the workers of a Dask cluster (`--cluster`).

The client (the `narrator build` process) keeps reading, markup, the cache, joining and
tagging; only the per-batch work, `pool.segment_payloads`, runs on the workers, the same
function the local pool runs. Each task carries a batch of utterances (not one, so the
scheduler is not the bottleneck) and returns {cache key: payload}; the client stores the
payloads under the keys it computed, so the cache stays the single source of truth and
workers on other machines share no filesystem with it. Each worker process makes its
engine once, with its first batch, and keeps it (pool.py).

Because a batch's payloads are a pure function of the batch, Dask may run a task again
on another worker (when one dies mid-build) and the episode is still the same bytes. A
worker that would speak differently is refused: before the first batch, and again in
every task (a worker may join later), its narrator version and engine identity (the dict
that keys the cache: engine library, voice, ...) must equal the client's.

`distributed` is imported only here and only when a cluster is asked for: it is the
`cluster` extra.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from typing import Any

from narrator import __version__
from narrator.cache import AudioCache, content_key
from narrator.errors import DependencyError, OutputError
from narrator.model import Utterance
from narrator.speech import registry
from narrator.speech.engine import EngineConfig
from narrator.speech.pool import SEGMENTS, Speech, Voice, Workers, batches, segment_payloads

INSTALL_HINT = "install it with: pip install 'narrator[cluster]'"
SAME_HINT = "give every worker the same narrator version, engine library and voices as here"
_CONNECT_TIMEOUT_S = 20
_WORKERS_TIMEOUT_S = 60  # for a cluster that is still starting its workers


@dataclass
class Cluster:
    """A connection to a Dask scheduler, shared by the builds of one `narrator build`."""

    address: str
    client: Any  # distributed.Client (the extra may be missing: no import at module level)
    checked: dict[EngineConfig, dict[str, str]] = field(default_factory=dict)


@contextlib.contextmanager
def connect(address: str | None) -> Iterator[Cluster | None]:
    """The cluster at `address` (tcp://HOST:PORT), or None when no cluster is asked for."""
    if not address:
        yield None
        return
    try:
        import distributed
    except ImportError:
        raise DependencyError(
            "building on a cluster needs Dask (the cluster extra)", INSTALL_HINT
        ) from None
    try:
        client = distributed.Client(address, timeout=_CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DependencyError(
            f"cannot reach the Dask scheduler at {address}: {exc}",
            "start it (scripts/cluster, or `dask scheduler`) or fix --cluster",
        ) from None
    with client:
        yield Cluster(address, client)


def identity_here(entry: registry.EngineEntry, config: EngineConfig) -> dict[str, str]:
    """What decides this process's sound for `config`: narrator's version and the engine
    identity that keys the cache. Runs on a worker (`entry` registers the client's engine
    there, so an engine registered at run time works too)."""
    registry.register(entry)
    return {"narrator": __version__, **registry.engine_identity(config)}


def refusal(address: str, found: Mapping[str, str], expected: Mapping[str, str]) -> str:
    """One line: which worker is refused and what differs from the client."""
    differences = ", ".join(
        f"{name} {found.get(name, 'missing')} (here {expected.get(name, 'missing')})"
        for name in sorted(set(found) | set(expected))
        if found.get(name) != expected.get(name)
    )
    return f"cluster worker {address} refused: it has {differences}"


_identities: dict[EngineConfig, dict[str, str]] = {}  # per worker process


def speak_on_worker(
    entry: registry.EngineEntry,
    voice: Voice,
    batch: list[Utterance],
    keys: list[str],
    expected: dict[str, str],
) -> tuple[str, dict[str, bytes]]:
    """A cluster task: the batch's payloads and the worker's address, after checking that
    this worker speaks exactly as the client would."""
    from distributed import get_worker

    address = get_worker().address
    if voice.engine not in _identities:
        _identities[voice.engine] = identity_here(entry, voice.engine)
    found = _identities[voice.engine]
    if found != expected:
        raise DependencyError(refusal(address, found, expected), SAME_HINT)
    return address, segment_payloads(voice, batch, keys)


def check_workers(cluster: Cluster, voice: Voice) -> dict[str, str]:
    """The client's identity for `voice`, once every worker present has shown the same.

    Refuses (one line, naming the worker and what differs) a worker that would speak
    differently or cannot speak at all; never mixes it in."""
    config = voice.engine
    if config in cluster.checked:
        return cluster.checked[config]
    entry = registry.entry(config.engine)
    expected = identity_here(entry, config)
    client = cluster.client
    try:
        client.wait_for_workers(1, timeout=_WORKERS_TIMEOUT_S)
    except TimeoutError:
        raise DependencyError(
            f"the Dask scheduler at {cluster.address} has no workers",
            f"start some: dask worker {cluster.address} --nthreads 1",
        ) from None
    found = client.run(identity_here, entry, config, on_error="return")
    for address, identity in sorted(found.items()):
        if isinstance(identity, BaseException):
            raise DependencyError(
                f"cluster worker {address} cannot speak: {identity}",
                "install narrator (with its cluster extra) and the voice on every worker",
            )
        if identity != expected:
            raise DependencyError(refusal(address, identity, expected), SAME_HINT)
    cluster.checked[config] = expected
    return expected


class ClusterSpeech(Speech):
    """Clips in the client's store, spoken by the cluster's workers."""

    def __init__(
        self, cluster: Cluster, voice: Voice, keys: Mapping[Utterance, str], store: AudioCache
    ) -> None:
        unused = contextlib.ExitStack()  # no local worker is ever started: the cluster speaks
        super().__init__(voice, keys, store, Workers(1, unused), unused)
        self.cluster = cluster
        self.used: set[str] = set()  # addresses of the workers that spoke

    @property
    def workers(self) -> int:
        return len(self.used)

    def spoken(self, utterances: Sequence[Utterance]) -> Iterator[list[Utterance]]:
        if not utterances:
            return
        from distributed import as_completed

        expected = check_workers(self.cluster, self.voice)
        entry = registry.entry(self.voice.engine.engine)
        client = self.cluster.client
        pending = {}
        for batch in batches(list(utterances)):
            keys = [self.keys[u] for u in batch]
            future = client.submit(
                speak_on_worker,
                entry,
                self.voice,
                batch,
                keys,
                expected,
                # the batch's content names the task: another client's identical batch is
                # the same task, computed once
                key=f"narrator-speak-{content_key(keys)}",
            )
            pending[future] = batch
        try:
            for future in as_completed(list(pending), loop=client.loop):
                self._store(_result(future, self.cluster))
                yield pending.pop(future)
                future.release()
        finally:
            if pending:
                client.cancel(list(pending))

    def speak_now(self, utterance: Utterance) -> bytes:
        for _ in self.spoken([utterance]):
            pass
        clip = self.store.get(SEGMENTS, self.keys[utterance])
        if clip is None:
            raise OutputError(
                f"cannot keep audio in the cache at {self.store.root}",
                "check that the folder is writable and has space, or use --no-cache",
            )
        return clip

    def _store(self, done: tuple[str, dict[str, bytes]]) -> None:
        address, payloads = done
        self.used.add(address)
        for key, payload in payloads.items():
            self.store.put(SEGMENTS, key, payload)


def _result(future: Any, cluster: Cluster) -> tuple[str, dict[str, bytes]]:
    """A task's result; losing the scheduler or a batch that kills every worker it is
    given becomes a DependencyError (a worker lost mid-task is Dask's to retry)."""
    from distributed import KilledWorker

    try:
        result: tuple[str, dict[str, bytes]] = future.result()
    except KilledWorker as exc:
        raise DependencyError(
            f"cluster workers died speaking a batch: {exc}", "check the workers' logs"
        ) from None
    except (CancelledError, OSError) as exc:
        raise DependencyError(
            f"lost the Dask scheduler at {cluster.address} ({type(exc).__name__})",
            "check that it is running and build again: finished segments are cached",
        ) from None
    return result
