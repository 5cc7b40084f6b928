"""OpenAI's OpenAPI spec, cut down to the operations Vocalis serves, for schemathesis.

The whole spec is about 3 MB of YAML with hundreds of operations; schemathesis only needs the
audio and model operations and the components they reach, so the cut keeps the test fast and
its failures readable.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT

SPEC = ROOT.parent / "shared" / "openapi" / "openai-openapi.yaml"
# operationId -> (path, method) as the spec names them; Vocalis serves them under /v1.
OPERATIONS = {
    "createTranscription": ("/audio/transcriptions", "post"),
    "createTranslation": ("/audio/translations", "post"),
    "createSpeech": ("/audio/speech", "post"),
    "listModels": ("/models", "get"),
    "retrieveModel": ("/models/{model}", "get"),
}


def load(path: Path = SPEC) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # type: ignore[no-any-return]


def cut(spec: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Only OPERATIONS and the components they reference, served from `base_url`."""
    paths: dict[str, dict[str, Any]] = {}
    for operation_id, (path, method) in OPERATIONS.items():
        operation = copy.deepcopy(spec["paths"][path][method])
        assert operation["operationId"] == operation_id, (path, method)
        operation.pop("x-oaiMeta", None)  # the docs' examples: large and unused
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": spec["openapi"],
        "info": spec["info"],
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": _reached(spec["components"], paths),
    }


def _reached(components: dict[str, Any], root: object) -> dict[str, Any]:
    """The components that `root` references, directly or through other components."""
    found: dict[str, dict[str, Any]] = {}
    pending = list(_refs(root))
    while pending:
        kind, name = pending.pop()
        if name in found.get(kind, {}):
            continue
        item = components[kind][name]
        found.setdefault(kind, {})[name] = item
        pending.extend(_refs(item))
    return found


def _refs(node: object) -> list[tuple[str, str]]:
    if isinstance(node, dict):
        refs = []
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/"):
                _, _, kind, name = value.split("/", 3)
                refs.append((kind, name))
            else:
                refs.extend(_refs(value))
        return refs
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []
