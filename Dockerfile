# syntax=docker/dockerfile:1
# The eventcrm image (docs/deploy.md):  docker build -t eventcrm .
#   docker run eventcrm               the API on :8000 (eventcrm serve)
#   docker run eventcrm worker        the delivery worker (eventcrm worker)
#   docker run eventcrm migrate       apply the migrations once and exit
# Configuration is environment variables only (EVENTCRM_*, see README.md).
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# --- build: the project and its dependencies, from pyproject.toml, into a venv ---------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/eventcrm
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
# Every dependency ships wheels for amd64 and arm64: no compiler is needed, and the
# final stage below copies only the venv (no pip cache, no sources, no build tools).
RUN /opt/eventcrm/bin/pip install --no-cache-dir . \
    && /opt/eventcrm/bin/pip uninstall --yes pip

# --- runtime --------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/eventcrm/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8000 \
    EVENTCRM_DATA_DIR=/var/lib/eventcrm \
    EVENTCRM_OUTBOX_DIR=/var/lib/eventcrm/outbox \
    EVENTCRM_DATABASE_URL=sqlite+aiosqlite:////var/lib/eventcrm/eventcrm.db \
    EVENTCRM_LOG_FORMAT=json
RUN groupadd --system --gid 10001 eventcrm \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /var/lib/eventcrm \
        --shell /usr/sbin/nologin eventcrm
COPY --from=build /opt/eventcrm /opt/eventcrm
COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/eventcrm-entrypoint
# Numeric, so a runtime that refuses root (runAsNonRoot) can check it.
USER 10001:10001
WORKDIR /var/lib/eventcrm
EXPOSE 8000
# The worker has no HTTP port: compose.yaml gives its service a check of its own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["eventcrm-entrypoint", "healthcheck"]
ENTRYPOINT ["eventcrm-entrypoint"]
CMD ["serve"]
