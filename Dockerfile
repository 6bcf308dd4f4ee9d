# Production image: `docker build -t posts-api .` then
# `docker run -p 8000:8000 -e DATABASE_URL=... -e SECRET_KEY=... posts-api`.
# With no e-mail settings, password-reset e-mails are written to the log (a warning at start-up
# says so); add `-e SMTP_HOST=... -e SMTP_USERNAME=... -e SMTP_PASSWORD=... -e EMAIL_FROM=...`
# from your e-mail provider to send them.
# Migrations are their own step: `docker run ... posts-api python -m app.migrate`
# (Render and Railway run it as the pre-deploy command, see render.yaml / railway.json).

# --- build: resolve the locked dependencies into /app/.venv with uv ----------------------
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first, in their own layer: rebuilt only when pyproject.toml or uv.lock change.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project

# --- runtime: the interpreter, the virtual environment and the code; nothing else ---------
FROM python:3.11-slim AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app \
    PATH="/app/.venv/bin:$PATH" \
    ENVIRONMENT=production \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    FORWARDED_ALLOW_IPS="*"
# A fixed, numeric uid/gid: USER by number is resolvable by any runtime (and lets Kubernetes'
# runAsNonRoot check it).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home app
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY pyproject.toml ./
COPY migrations ./migrations
COPY app ./app
USER 10001:10001
EXPOSE 8000
# app.serve checks the production settings, then runs uvicorn on 0.0.0.0:$PORT with
# $WEB_CONCURRENCY workers and --proxy-headers. It reads $PORT from the environment at
# start, so the platform's value is really used (an exec-form CMD with a literal "$PORT"
# would not expand it).
CMD ["python", "-m", "app.serve"]
