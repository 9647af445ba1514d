# The production image: deploy/entrypoint.sh runs `db upgrade`, then gunicorn on port 8000.
# The same image runs the mail worker: docker run IMAGE worker (see deploy/entrypoint.sh).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASK_CONFIG=production \
    PORT=8000

WORKDIR /app

# Dependencies before the code, so that a code change reuses this layer.
COPY requirements.txt .
RUN pip install -r requirements.txt

# The code belongs to root and is read-only for the user that runs it; only instance/
# (where a SQLite database would live) is writable.
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin app
COPY . .
RUN mkdir -p instance && chown app:app instance

USER app
EXPOSE 8000
# For the web server; a worker container overrides it: --health-cmd "python deploy/healthcheck.py worker"
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "deploy/healthcheck.py"]
ENTRYPOINT ["deploy/entrypoint.sh"]
