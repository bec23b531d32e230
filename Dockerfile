# ceasefire-monitor container image.
#
#   podman build --format docker -t ceasefire-monitor .      (docker build -t ceasefire-monitor . works too)
#   podman run -d --init -p 8080:8080 -v cfm-data:/var/lib/ceasefire-monitor \
#       -e DESK_SLACK_URL=slack://... ceasefire-monitor
#
# Configuration, in the order the daemon looks for it:
#   - a mounted file: -v ./config.toml:/etc/ceasefire-monitor/config.toml:ro  (picked up automatically,
#     or point CEASEFIRE_MONITOR_CONFIG elsewhere);
#   - environment: CEASEFIRE_MONITOR_DATABASE_URL=postgresql+psycopg://user:pass@db:5432/monitor,
#     secrets named by `url_env = "..."` in the config (e.g. DESK_SLACK_URL);
#   - built-in defaults: SQLite in $STATE_DIRECTORY (the data volume), alerts to the log.
# The API binds 0.0.0.0 inside the container (CEASEFIRE_MONITOR_API_BIND), port 8080. If you move the
# port in config.toml, override HEALTHCHECK too.
# Run with --init (compose: `init: true`) so SIGTERM reaches the daemon and is not lost on a PID 1 Python.
FROM python:3.12-slim

LABEL org.opencontainers.image.title="ceasefire-monitor" \
      org.opencontainers.image.description="Watches news feeds for ceasefire violations and alerts once per incident" \
      org.opencontainers.image.licenses="MIT"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Service user with a fixed numeric id, so orchestrators can check runAsNonRoot and volumes can be
# chowned ahead of time (chown 10001:10001).
RUN groupadd --system --gid 10001 monitor \
 && useradd --system --uid 10001 --gid monitor --no-create-home \
        --home-dir /var/lib/ceasefire-monitor --shell /usr/sbin/nologin monitor \
 && install -d -o monitor -g monitor -m 0750 /var/lib/ceasefire-monitor \
 && install -d -m 0755 /etc/ceasefire-monitor

WORKDIR /usr/src/ceasefire-monitor

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# Then the project itself (non-editable); README.md is pyproject.toml's long description.
COPY README.md ./
COPY monitor ./monitor
RUN pip install --no-cache-dir . \
 && rm -rf build ./*.egg-info

ENV STATE_DIRECTORY=/var/lib/ceasefire-monitor \
    CEASEFIRE_MONITOR_API_BIND=0.0.0.0
VOLUME ["/var/lib/ceasefire-monitor"]
WORKDIR /var/lib/ceasefire-monitor
USER 10001:10001
EXPOSE 8080

# No curl in slim images: ask /healthz with the standard library. Proxies are bypassed on purpose
# (an inherited HTTP_PROXY must not swallow a loopback request); a non-2xx answer raises -> exit 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8080/healthz', timeout=4)"]

# Use the mounted config file when there is one and nothing else was chosen, then run the command.
ENTRYPOINT ["/bin/sh", "-c", "if [ -z \"${CEASEFIRE_MONITOR_CONFIG:-}\" ] && [ -f /etc/ceasefire-monitor/config.toml ]; then export CEASEFIRE_MONITOR_CONFIG=/etc/ceasefire-monitor/config.toml; fi; exec \"$@\"", "ceasefire-monitor-entrypoint"]
CMD ["ceasefire-monitor", "run"]
