# syntax=docker/dockerfile:1
# The uplink server (`digits serve`) with its LiteRT models, running as a non-root user. No TensorFlow:
# the wheel's base dependencies are what serving needs (training is the `train` extra, not installed here).
#
#   docker build -t digits .
#   docker run --init -e ANVIL_UPLINK_KEY digits
#
# No port is exposed: the server dials out to Anvil. The key is never baked in; it comes at run time
# from ANVIL_UPLINK_KEY, or from a mounted file named by ANVIL_UPLINK_KEY_FILE. See deploy/README.md.

# Python 3.11 on Debian bookworm, pinned to a patch release. For byte-for-byte rebuilds, add the
# digest your registry reports for this tag (`FROM python:3.11.14-slim-bookworm@sha256:...`).
FROM python:3.11.14-slim-bookworm AS python

# Builder: turns the source tree into one wheel that carries the package and its trained models.
FROM python AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY digits ./digits
COPY models ./models
COPY training ./training
COPY uplink_server ./uplink_server
RUN pip wheel --no-deps --wheel-dir /wheels .

# Runtime: the wheel installed with the exact dependency versions the project was tested with.
FROM python AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    --mount=type=bind,source=deploy/constraints.txt,target=/constraints.txt \
    pip install --no-cache-dir --constraint /constraints.txt /wheels/digit_classifier-*.whl \
    && groupadd --gid 10001 digits \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin digits
USER 10001:10001
WORKDIR /home/digits

# `digits health` reads the status file the server keeps fresh; it loads no model.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["digits", "health"]

# Exec form: no shell in between, so SIGTERM reaches the server. Run with an init process
# (`docker run --init`, ECS initProcessEnabled) so that PID 1 forwards signals and reaps children.
ENTRYPOINT ["digits"]
CMD ["serve"]
