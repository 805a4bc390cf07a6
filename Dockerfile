# The Basecamp integration service (app, refresh loop and simulator share this image).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

RUN useradd --system --uid 10001 --home-dir /srv/app app \
    && mkdir -p /var/log/app \
    && chown app /var/log/app
USER app

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"

# Migrate, then serve with gunicorn.conf.py (GUNICORN_WORKERS, GUNICORN_THREADS). docker-compose.yml overrides the command for the refresher and
# the simulator.
CMD ["sh", "-c", "flask --app wsgi basecamp migrate && exec gunicorn --bind 0.0.0.0:8000"]
