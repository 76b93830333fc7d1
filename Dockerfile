# syntax=docker/dockerfile:1
# Orbiter API image. Run migrations and serve:  docker run -p 8000:8000 -v orbiter-data:/data \
#   -e ORBITER_SECRET_KEY=... -e ORBITER_ENCRYPTION_KEYS=... orbiter
# (see docker-compose.yml for the full stack with PostgreSQL, Redis and MinIO).

# ---- build: a virtualenv in /app/venv holding Orbiter and its dependencies ----------------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/app/venv/bin:$PATH
RUN python -m venv /app/venv
WORKDIR /src

# Dependencies first, exactly as locked (hash-checked), so a code change does not reinstall them.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# Then the package itself, as a regular (non-editable) install; `pip check` fails the build when
# the lock no longer satisfies pyproject.toml (run `make lock`).
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-deps . && pip check

# ---- runtime ----------------------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/app/venv/bin:$PATH \
    ORBITER_DATA_DIR=/data

RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin orbiter \
 && mkdir -p /data \
 && chown orbiter:orbiter /data

COPY --from=build /app/venv /app/venv
# `orbiter migrate` looks for ./migrations in the working directory.
WORKDIR /app
COPY migrations ./migrations

USER orbiter
VOLUME /data
EXPOSE 8000

# `exec` makes the server PID 1's direct replacement, so `docker stop` (SIGTERM) reaches it.
CMD ["sh", "-c", "orbiter migrate && exec orbiter serve --host 0.0.0.0 --port 8000"]
