"""The model store: resolution order, verified assembly, catalog lookups and sources."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from vocalis.errors import ModelIntegrityError, ModelNotFound
from vocalis.models.catalog import Catalog, FileSpec, Kind, ModelSpec, default_catalog
from vocalis.models.sources import PackageSource, Progress
from vocalis.models.store import MARKER, ModelStore, sha256_of, verify

WEIGHTS = b"fake weights \x00\x01\x02"
CONFIG = b'{"layers": 2}'


def file_spec(name: str, data: bytes) -> FileSpec:
    return FileSpec(name, len(data), hashlib.sha256(data).hexdigest())


@dataclass(eq=False)
class FakeSource:
    """Writes fixed bytes into the staging directory and records each fetch."""

    contents: dict[str, bytes]
    online: bool = False
    is_available: bool = True
    label: str = "fake-package"
    delay: float = 0.0
    error: Exception | None = None
    calls: list[list[str]] = field(default_factory=list)

    def provides(self) -> frozenset[str]:
        return frozenset(self.contents)

    def available(self) -> bool:
        return self.is_available

    def fetch(self, names: Sequence[str], staging: Path, progress: Progress) -> None:
        self.calls.append(list(names))
        if self.delay:
            time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        for name in names:
            (staging / name).write_bytes(self.contents[name])
            progress(len(self.contents[name]))

    def hint(self) -> str:
        return f"pip install {self.label}"


def make_spec(
    *sources: FakeSource,
    id: str = "tiny-stt",
    kind: Kind = "stt",
    aliases: tuple[str, ...] = ("tiny", "Org/Tiny-Model"),
) -> ModelSpec:
    return ModelSpec(
        id=id,
        kind=kind,
        engine="whisper",
        description="a test model",
        files=(file_spec("model.bin", WEIGHTS), file_spec("config.json", CONFIG)),
        sources=sources,
        aliases=aliases,
    )


def good_source(**kwargs: Any) -> FakeSource:
    return FakeSource({"model.bin": WEIGHTS, "config.json": CONFIG}, **kwargs)


def make_store(tmp_path: Path, *specs: ModelSpec, **kwargs: Any) -> ModelStore:
    return ModelStore(Catalog(specs), tmp_path / "models", **kwargs)


# Resolution order


def test_operator_local_directory_wins_and_sources_are_never_called(tmp_path: Path) -> None:
    source = good_source()
    spec = make_spec(source)
    local = tmp_path / "operator" / "tiny"
    local.mkdir(parents=True)
    # Keyed by an alias in another case: names match case-insensitively.
    store = make_store(tmp_path, spec, local_models={"TINY": local})

    assert store.path(spec) == local
    status = store.status(spec)
    assert status.installed is True
    assert status.path == local
    assert source.calls == []
    assert not (tmp_path / "models").exists()


def test_missing_operator_directory_is_an_error_naming_it(tmp_path: Path) -> None:
    source = good_source()
    spec = make_spec(source)
    missing = tmp_path / "nowhere"
    store = make_store(tmp_path, spec, local_models={"tiny-stt": missing})

    with pytest.raises(ModelNotFound, match="nowhere"):
        store.path(spec)
    assert source.calls == []


def test_offline_source_assembles_model_dir_with_marker(tmp_path: Path) -> None:
    source = good_source()
    spec = make_spec(source)
    store = make_store(tmp_path, spec, allow_download=False)
    progressed: list[int] = []

    path = store.path(spec, progressed.append)

    assert path == tmp_path / "models" / "tiny-stt"
    assert (path / "model.bin").read_bytes() == WEIGHTS
    assert (path / "config.json").read_bytes() == CONFIG
    assert json.loads((path / MARKER).read_text()) == {"id": "tiny-stt", "verified": True}
    assert sorted(source.calls[0]) == ["config.json", "model.bin"]
    assert sum(progressed) == len(WEIGHTS) + len(CONFIG)
    # Only the finished model is left: no staging directory.
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["tiny-stt"]


def test_assembled_model_is_reused_without_fetching_again(tmp_path: Path) -> None:
    source = good_source()
    spec = make_spec(source)
    store = make_store(tmp_path, spec)

    first = store.path(spec)
    second = store.path(spec)
    # A fresh store over the same directory (a restart) finds it too.
    third = make_store(tmp_path, spec).path(spec)

    assert first == second == third
    assert len(source.calls) == 1
    assert store.status(spec).installed is True


def test_hub_style_id_gets_a_filesystem_safe_directory(tmp_path: Path) -> None:
    spec = make_spec(good_source(), id="Org/whisper-small")
    store = make_store(tmp_path, spec)

    path = store.path(spec)

    assert path == tmp_path / "models" / "Org--whisper-small"
    assert (path / "model.bin").read_bytes() == WEIGHTS


def test_concurrent_first_requests_assemble_once(tmp_path: Path) -> None:
    source = good_source(delay=0.1)
    spec = make_spec(source)
    store = make_store(tmp_path, spec)
    results: list[Path] = []

    threads = [threading.Thread(target=lambda: results.append(store.path(spec))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(source.calls) == 1
    assert results == [tmp_path / "models" / "tiny-stt"] * 4


def test_online_sources_are_skipped_when_downloads_are_disallowed(tmp_path: Path) -> None:
    online = good_source(online=True, label="the-hub")
    offline = good_source(label="offline-pkg")
    # The online source is listed first: only allow_download decides whether it is used.
    spec = make_spec(online, offline)

    make_store(tmp_path / "a", spec, allow_download=False).path(spec)
    assert online.calls == []
    assert len(offline.calls) == 1

    make_store(tmp_path / "b", spec, allow_download=True).path(spec)
    assert len(online.calls) == 1
    assert len(offline.calls) == 1


def test_only_online_source_and_no_downloads_is_not_found(tmp_path: Path) -> None:
    online = good_source(online=True, label="the-hub")
    spec = make_spec(online)
    store = make_store(tmp_path, spec, allow_download=False)

    assert store.status(spec).obtainable is False
    with pytest.raises(ModelNotFound):
        store.path(spec)
    assert online.calls == []


def test_unavailable_source_is_skipped_for_the_next(tmp_path: Path) -> None:
    missing = good_source(is_available=False, label="not-installed")
    fallback = good_source(label="fallback")
    spec = make_spec(missing, fallback)

    path = make_store(tmp_path, spec).path(spec)

    assert missing.calls == []
    assert len(fallback.calls) == 1
    assert (path / "config.json").read_bytes() == CONFIG


def test_files_are_split_across_sources_that_each_provide_some(tmp_path: Path) -> None:
    weights = FakeSource({"model.bin": WEIGHTS}, label="weights-pkg")
    config = FakeSource({"config.json": CONFIG}, label="config-pkg")
    spec = make_spec(weights, config)

    path = make_store(tmp_path, spec).path(spec)

    assert weights.calls == [["model.bin"]]
    assert config.calls == [["config.json"]]
    assert (path / "model.bin").read_bytes() == WEIGHTS
    assert (path / "config.json").read_bytes() == CONFIG


def test_nothing_usable_raises_not_found_saying_how_to_get_it(tmp_path: Path) -> None:
    spec = make_spec(
        good_source(is_available=False, label="tiny-model-pkg==1.0"),
        good_source(online=True, label="hub-thing"),
    )
    store = make_store(tmp_path, spec, allow_download=False)

    with pytest.raises(ModelNotFound) as caught:
        store.path(spec)

    message = caught.value.message
    assert "'tiny-stt' is not installed" in message
    assert "pip install tiny-model-pkg==1.0" in message
    assert "pip install hub-thing" in message
    assert "vocalis models pull tiny-stt" in message
    assert caught.value.status_code == 404
    assert caught.value.param == "model"


def test_a_failing_fetch_is_not_found_and_leaves_nothing(tmp_path: Path) -> None:
    source = good_source(error=OSError("disk on fire"))
    spec = make_spec(source)
    store = make_store(tmp_path, spec)

    with pytest.raises(ModelNotFound, match="disk on fire") as caught:
        store.path(spec)

    assert "vocalis models pull tiny-stt" in caught.value.message
    assert list((tmp_path / "models").iterdir()) == []


# Integrity


def test_hash_mismatch_is_refused_and_leaves_nothing_behind(tmp_path: Path) -> None:
    tampered = FakeSource({"model.bin": b"X" * len(WEIGHTS), "config.json": CONFIG})
    spec = make_spec(tampered)
    store = make_store(tmp_path, spec)

    with pytest.raises(ModelIntegrityError, match=r"model\.bin does not match"):
        store.path(spec)

    models = tmp_path / "models"
    assert not (models / "tiny-stt").exists()
    assert [p.name for p in models.iterdir() if p.name.startswith(".")] == []
    assert list(models.iterdir()) == []
    assert store.status(spec).installed is False


def test_file_changed_size_after_assembly_counts_as_not_installed(tmp_path: Path) -> None:
    source = good_source()
    spec = make_spec(source)
    store = make_store(tmp_path, spec)
    path = store.path(spec)
    assert store.status(spec).installed is True

    with (path / "model.bin").open("ab") as f:
        f.write(b"extra")

    status = store.status(spec)
    assert status.installed is False
    assert status.path is None
    assert status.obtainable is True
    # Asking again reassembles a good copy.
    assert store.path(spec) == path
    assert (path / "model.bin").read_bytes() == WEIGHTS
    assert len(source.calls) == 2


def test_directory_without_marker_is_not_installed(tmp_path: Path) -> None:
    spec = make_spec(good_source())
    store = make_store(tmp_path, spec)
    directory = store.directory(spec)
    directory.mkdir(parents=True)
    (directory / "model.bin").write_bytes(WEIGHTS)
    (directory / "config.json").write_bytes(CONFIG)

    assert store.status(spec).installed is False


def test_unverified_model_with_no_file_list_is_fetched_whole(tmp_path: Path) -> None:
    class WholeRepo(FakeSource):
        def fetch(self, names: Sequence[str], staging: Path, progress: Progress) -> None:
            self.calls.append(list(names))
            (staging / "anything.bin").write_bytes(b"whatever")

    source = WholeRepo({}, online=True)
    spec = ModelSpec(
        id="Someone/model",
        kind="stt",
        engine="whisper",
        description="ad hoc",
        files=(),
        sources=(source,),
        verified=False,
    )
    store = make_store(tmp_path, spec)

    path = store.path(spec)

    assert source.calls == [[]]
    assert (path / "anything.bin").read_bytes() == b"whatever"
    assert json.loads((path / MARKER).read_text())["verified"] is False


def test_verify_accepts_matching_files_and_names_the_bad_one(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(WEIGHTS)
    (tmp_path / "config.json").write_bytes(CONFIG)
    files = [file_spec("model.bin", WEIGHTS), file_spec("config.json", CONFIG)]

    verify(tmp_path, files)  # no error
    assert sha256_of(tmp_path / "model.bin") == hashlib.sha256(WEIGHTS).hexdigest()

    with pytest.raises(ModelIntegrityError, match=r"vocab\.txt is missing"):
        verify(tmp_path, [*files, file_spec("vocab.txt", b"abc")])

    (tmp_path / "config.json").write_bytes(b'{"layers": 3}')
    with pytest.raises(ModelIntegrityError) as caught:
        verify(tmp_path, files)
    assert "config.json" in caught.value.message
    assert hashlib.sha256(CONFIG).hexdigest() in caught.value.message
    assert caught.value.status_code == 500


# Lookups


def test_spec_by_id_or_alias_is_case_insensitive(tmp_path: Path) -> None:
    spec = make_spec(good_source())
    store = make_store(tmp_path, spec)

    assert store.spec("tiny-stt") is spec
    assert store.spec("TINY") is spec
    assert store.spec("org/tiny-model") is spec


def test_unknown_name_lists_available_ids(tmp_path: Path) -> None:
    stt = make_spec(good_source())
    tts = make_spec(good_source(), id="voice-one", kind="tts", aliases=())
    store = make_store(tmp_path, stt, tts)

    with pytest.raises(ModelNotFound) as caught:
        store.spec("gpt-9")
    assert "'gpt-9' does not exist" in caught.value.message
    assert "tiny-stt" in caught.value.message
    assert "voice-one" in caught.value.message

    with pytest.raises(ModelNotFound) as only_stt:
        store.spec("gpt-9", kind="stt")
    assert "tiny-stt" in only_stt.value.message
    assert "voice-one" not in only_stt.value.message


def test_kind_filter_rejects_a_model_of_the_other_kind(tmp_path: Path) -> None:
    stt = make_spec(good_source())
    tts = make_spec(good_source(), id="voice-one", kind="tts", aliases=())
    store = make_store(tmp_path, stt, tts)

    assert store.spec("voice-one", kind="tts") is tts
    assert store.spec("tiny", kind="stt") is stt
    with pytest.raises(ModelNotFound, match="Available models: voice-one"):
        store.spec("tiny", kind="tts")


def test_hub_id_gives_adhoc_unverified_spec_only_when_downloads_allowed(tmp_path: Path) -> None:
    online = make_store(tmp_path, make_spec(good_source()), allow_download=True)
    spec = online.spec("someone/whisper-large-ct2")

    assert spec.id == "someone/whisper-large-ct2"
    assert spec.kind == "stt"
    assert spec.verified is False
    assert spec.files == ()
    assert [getattr(s, "repo_id", None) for s in spec.sources] == ["someone/whisper-large-ct2"]
    assert all(s.online for s in spec.sources)

    with pytest.raises(ModelNotFound):
        online.spec("someone/voice", kind="tts")
    with pytest.raises(ModelNotFound):
        online.spec("no-slash-here")

    offline = make_store(tmp_path, make_spec(good_source()), allow_download=False)
    with pytest.raises(ModelNotFound, match="someone/whisper-large-ct2"):
        offline.spec("someone/whisper-large-ct2")


# Sources


def test_package_source_concatenates_parts_from_an_installed_package(tmp_path: Path) -> None:
    part = ("vocalis", "__init__.py")
    source = PackageSource(requirement="x", files={"a.txt": (part, part)})
    init = resources.files("vocalis").joinpath("__init__.py").read_bytes()
    progressed: list[int] = []

    assert source.online is False
    assert source.provides() == frozenset({"a.txt"})
    assert source.available() is True
    assert source.hint() == "pip install x"

    source.fetch(["a.txt"], tmp_path, progressed.append)

    assert (tmp_path / "a.txt").read_bytes() == init + init
    assert sum(progressed) == 2 * len(init)


def test_package_source_is_unavailable_when_any_package_is_missing() -> None:
    present = ("vocalis", "__init__.py")
    absent = ("vocalis_no_such_package_zz", "data/x.bin")

    assert PackageSource("x", {"a.txt": (present,)}).available() is True
    assert PackageSource("x", {"a.txt": (absent,)}).available() is False
    assert PackageSource("x", {"a.txt": (present, absent)}).available() is False


# The real catalog


def test_default_catalog_knows_whisper_base_and_its_aliases() -> None:
    catalog = default_catalog()
    base = catalog.get("whisper-base")

    assert base is not None
    assert catalog.get("whisper-1") is base
    assert catalog.get("Systran/faster-whisper-base") is base
    assert catalog.get("systran/FASTER-whisper-base") is base
    assert base.kind == "stt"
    assert {f.name for f in base.files} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }
    assert all(len(f.sha256) == 64 and f.size > 0 for f in base.files)
    # Offline package first, then the hub.
    assert [s.online for s in base.sources] == [False, True]


def test_default_catalog_tiny_en_is_english_only() -> None:
    catalog = default_catalog()
    tiny = catalog.get("whisper-tiny.en")

    assert tiny is not None
    assert tiny.languages == ("en",)
    assert catalog.get("tiny.en") is tiny
    base = catalog.get("whisper-base")
    assert base is not None
    assert base.languages == ()
    assert [s.id for s in catalog.of_kind("stt")] == ["whisper-base", "whisper-tiny.en"]
    assert {s.id for s in catalog.of_kind("tts")} == {"piper-en_US-joe-medium", "kokoro"}
