# The gateway image: gunicorn (gevent) by default; `python -m workers` runs an RQ worker,
# `python -m workers.webhooks` the webhook deliverer.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GATEWAY_BIND=0.0.0.0

WORKDIR /srv/gateway
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt \
    && useradd --create-home --uid 10001 gateway

COPY --chown=gateway:gateway app ./app
COPY --chown=gateway:gateway core ./core
COPY --chown=gateway:gateway workers ./workers
COPY --chown=gateway:gateway gunicorn.conf.py openapi.yaml ./

USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request, os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/healthz')"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
