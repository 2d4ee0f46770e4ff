# Backprop Circuits: one container for a classroom. Offline at run time (every browser asset
# is vendored), non-root, configured by environment variables (see docs/deploy.md).

# --- build: the app and its runtime dependencies installed into a virtualenv ---------------
FROM python:3.12-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY static ./static
COPY templates ./templates
RUN /opt/venv/bin/pip install . && rm -rf /opt/venv/lib/python3*/site-packages/pip*

# --- run: only the virtualenv, no build tools, no tests -------------------------------------
FROM python:3.12-slim
# One BLAS/OpenMP thread per process: numpy never grabs every core behind the pool's back.
# Server knobs: PORT, WEB_CONCURRENCY (worker processes), TIMEOUT_KEEP_ALIVE,
# FORWARDED_ALLOW_IPS. App and connection limits (header timeout, connections, requests in
# flight, job deadline and memory): every field of app/core/config.py Settings is BPC_<NAME>.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    TIMEOUT_KEEP_ALIVE=5 \
    FORWARDED_ALLOW_IPS=127.0.0.1 \
    BPC_MAX_BODY_BYTES=1000000 \
    BPC_HEAVY_POOL_WORKERS=1 \
    BPC_HEAVY_QUEUE_LIMIT=64 \
    BPC_ACCESS_LOG=true \
    BPC_STORE=sqlite:////data/class.db
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin bpc
# The live class's SQLite file (BPC_STORE), shared by the workers; mount a volume here to keep
# classes across containers (docs/deploy.md, "The class store")
RUN mkdir /data && chown bpc /data
USER bpc
WORKDIR /tmp
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-m", "app.healthcheck"]
# Our launcher (app/serve.py) runs uvicorn with a header timeout, a connection cap and
# TCP_NODELAY on every worker's sockets; it reads PORT, WEB_CONCURRENCY, TIMEOUT_KEEP_ALIVE and
# FORWARDED_ALLOW_IPS. Exec form: it is PID 1 and gets SIGTERM directly for a graceful stop.
CMD ["backprop-circuits", "serve", "--host", "0.0.0.0"]
