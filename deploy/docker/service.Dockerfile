# syntax=docker/dockerfile:1
# The image of every Python service (reelhouse/<service>: gallery, upload, transcoder, streaming, chat).
# One recipe, one image per service: the build arguments say which service. docker-bake.json at the
# repository root holds them for each service; the Tiltfile passes the same ones.
#
# Build from the repository root (the uv workspace):
#   docker buildx bake transcoder                      # reelhouse/transcoder:dev, via docker-bake.json
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=gallery -t reelhouse/gallery .
#
# Build arguments:
#   SERVICE       the service directory under services/ (its package is reelhouse-<SERVICE>); required.
#   APT_PACKAGES  Debian packages of the runtime image (the transcoder and the streaming service need
#                 ffmpeg: Debian bookworm's 5.1, as on the laptop stack); empty by default.
#   PYTHON_IMAGE  the pinned slim base.
#
# Layers: (1) third-party dependencies from uv.lock only, cached until uv.lock or the root
# pyproject.toml changes; (2) libs/ and services/<SERVICE>/ installed editable into the same virtualenv,
# so the source keeps the repository layout (main.py finds services/<SERVICE>/migrations through
# Path(__file__).parents[3]) and Tilt can sync changed files straight into /app.
# Runs as user 10001; `reelhouse-<SERVICE> serve` by default, `reelhouse-<SERVICE> migrate` for migrations.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
RUN test -n "${SERVICE}" || (echo "build argument SERVICE is required (gallery, upload, transcoder, streaming, chat)" >&2; exit 1)
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

# (1) dependencies only
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package reelhouse-${SERVICE}

# (2) the workspace packages of this service
COPY libs ./libs
COPY services/${SERVICE} ./services/${SERVICE}
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package reelhouse-${SERVICE}

FROM ${PYTHON_IMAGE}
ARG SERVICE
ARG APT_PACKAGES=""
RUN if [ -n "${APT_PACKAGES}" ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends ${APT_PACKAGES} \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && if command -v ffmpeg >/dev/null; then ffmpeg -hide_banner -version | head -n 1; fi
RUN groupadd --system --gid 10001 reelhouse \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /app \
       --shell /usr/sbin/nologin reelhouse
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
# Owned by the service user so that Tilt's live_update can sync into a dev container (production
# pods run with a read-only root filesystem, so nothing can change them there).
COPY --from=build --chown=10001:10001 /app/libs /app/libs
COPY --from=build --chown=10001:10001 /app/services/${SERVICE} /app/services/${SERVICE}
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    REELHOUSE_SERVICE=${SERVICE} \
    REELHOUSE_HTTP_HOST=0.0.0.0 \
    REELHOUSE_HTTP_PORT=8000
USER 10001:10001
EXPOSE 8000
# Exec form cannot expand a build argument: a POSIX shell execs reelhouse-<SERVICE> with the arguments
# (CMD or the pod's args), so the service runs as PID 1 and gets SIGTERM directly.
ENTRYPOINT ["/bin/sh", "-c", "exec \"reelhouse-${REELHOUSE_SERVICE}\" \"$@\"", "reelhouse"]
CMD ["serve"]
