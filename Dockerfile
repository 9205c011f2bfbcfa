# One image for the Prefect server, the API, the worker and the one-shot setup of
# docker-compose.yml: the project's code on Python 3.11 with the locked packages.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false

WORKDIR /app

COPY requirements.lock ./
RUN pip install --no-cache-dir uv==0.13.8 \
    && uv pip install --system --no-cache -r requirements.lock

# Only what runs: no virtualenv, no local data, no tests.
COPY pyproject.toml README.md alembic.ini prefect.yaml ./
COPY api api
COPY election election
COPY migrations migrations
COPY producers producers
COPY tasks tasks
COPY flows flows
COPY warehouse warehouse
COPY services services
COPY deployments deployments
COPY dbt dbt
RUN uv pip install --system --no-cache --no-deps -e .

CMD ["python", "-m", "services", "status"]
