# syntax=docker/dockerfile:1
# Admin Metrics History: gunicorn + Dash app, Chromium and the Nanum Korean font for PDF
# charts, running as a non-root user. Every build step lives in scripts/container-build.sh,
# which the test suite also runs outside Docker.
#
#   docker build -t admin-metrics-history .
#   docker build --build-arg WHEELHOUSE=wheelhouse -t admin-metrics-history .   (air-gapped:
#       install only from wheelhouse/, made by scripts/build-wheelhouse.sh)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtualenv with the project and its locked dependencies ------------------
FROM ${PYTHON_IMAGE} AS build
ARG WHEELHOUSE=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_VENV=/opt/venv
WORKDIR /src
# The locked dependencies first, in their own layer: a rebuild after a source change only
# reinstalls the project (from a wheelhouse, the next step installs everything offline).
COPY scripts/container-build.sh requirements.lock /src/deps/
RUN if [ -z "$WHEELHOUSE" ]; then /src/deps/container-build.sh deps; fi
COPY . /src
RUN WHEELHOUSE="${WHEELHOUSE:+/src/$WHEELHOUSE}" scripts/container-build.sh python

# --- runtime: slim Debian + Chromium + Nanum font + the virtualenv ---------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV APP_VENV=/opt/venv \
    APP_HOME=/app \
    APP_USER=app \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WEB_BIND=0.0.0.0:8050 \
    DATA_DIR=/app/var \
    CHROMIUM_PATH=/usr/lib/chromium/chromium \
    HOME=/app
COPY scripts/container-build.sh /app/scripts/container-build.sh
RUN CREATE_USER=1 /app/scripts/container-build.sh system
COPY --from=build /opt/venv /opt/venv
COPY gunicorn.conf.py alembic.ini /app/
COPY scripts/entrypoint.sh /app/scripts/entrypoint.sh
RUN /app/scripts/container-build.sh check
WORKDIR /app
USER app
EXPOSE 8050
VOLUME ["/app/var"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/app/scripts/entrypoint.sh", "healthcheck"]
ENTRYPOINT ["/app/scripts/entrypoint.sh"]
CMD ["serve"]
