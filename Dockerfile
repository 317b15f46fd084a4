# syntax=docker/dockerfile:1
# The tagger's image (`make image`). A builder stage with gcc builds the project's wheel, compiled scorer included,
# and installs it with its pinned dependencies into /opt/tagger; the slim runtime stage copies that environment, runs
# as a non-root user and writes nothing outside /tmp, so it runs on a read-only root filesystem.
# The model is not in the image: the server reads /models/tagger.joblib (its card and tables beside it) from a
# mounted volume, as the Kubernetes files do. `--build-arg MODEL=baked` copies models/tagger.* in instead, for
# rolling a model out as a new image (then mount nothing at /models).
ARG PYTHON_VERSION=3.11
ARG MODEL=none

FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
RUN apt-get update \
    && apt-get install --yes --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml setup.py README.md LICENSE ./
COPY service ./service
COPY training ./training
RUN python -m venv /opt/tagger \
    && /opt/tagger/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/tagger/bin/pip install /wheels/tagger-*.whl
# setup.py skips a compile that fails (so that pip works without a compiler); in the image it must have worked
RUN /opt/tagger/bin/python -c "from service.model.scorer import COMPILED, COMPILED_MISSING; assert COMPILED, COMPILED_MISSING"
RUN mkdir /model

# The model stage the build uses is model-$MODEL (BuildKit builds only that one).
FROM builder AS model-none

FROM builder AS model-baked
ARG MODEL_NAME=tagger
COPY models/${MODEL_NAME}.joblib models/${MODEL_NAME}.json models/${MODEL_NAME}.tables.npz /model/

FROM model-${MODEL} AS model

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
ARG MODEL_NAME=tagger
# Bytecode was compiled at install; nothing is written at run time. TAGGER_ADDRESS listens on every interface, so
# that probes and other pods reach it.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/tagger/bin:$PATH \
    TAGGER_ADDRESS=0.0.0.0:50051 \
    TAGGER_MODEL_PATH=/models/${MODEL_NAME}.joblib
RUN groupadd --system --gid 10001 tagger \
    && useradd --system --uid 10001 --gid tagger --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin tagger
COPY --from=builder /opt/tagger /opt/tagger
COPY --from=model /model/ /models/
USER 10001:10001
EXPOSE 50051 9090
# For plain Docker; Kubernetes uses its native gRPC probes instead. Exit 0 only while the server is SERVING.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD tagger health --address "127.0.0.1:${TAGGER_ADDRESS##*:}" --timeout 3 || exit 1
# SIGTERM: NOT_SERVING, TAGGER_DRAIN_SECONDS still answering, then TAGGER_GRACE_SECONDS for calls in flight
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "service"]
