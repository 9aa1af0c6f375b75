# The studio's image: the web server and the Celery worker run from it (see docker-compose.yml).
FROM node:20-bookworm-slim AS editor
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt requirements-flink.txt ./
RUN python -m venv /app/.venv && /app/.venv/bin/pip install --no-cache-dir -r requirements.txt \
    && python -m venv /app/.venv-flink && /app/.venv-flink/bin/pip install --no-cache-dir -r requirements-flink.txt
COPY . .
COPY --from=editor /app/frontend/dist /app/frontend/dist
ENV PATH="/app/.venv/bin:$PATH" \
    STUDIO_VAR_DIR=/var/lib/studio \
    STUDIO_PYTHON=/app/.venv/bin/python \
    STUDIO_FLINK_PYTHON=/app/.venv-flink/bin/python \
    PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --noinput && python manage.py seed_demo && uvicorn studio.asgi:application --host 0.0.0.0 --port 8000"]
