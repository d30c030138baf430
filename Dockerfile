# One image for every Callback Desk process; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contract ./contract
COPY delivery ./delivery
COPY battery ./battery
COPY callbacks ./callbacks
COPY dashboard ./dashboard
COPY sandbox ./sandbox
COPY simulator ./simulator
COPY api ./api
COPY archive ./archive
COPY health ./health
COPY alerts ./alerts
COPY actions ./actions
COPY users ./users
COPY demo ./demo
COPY reconcile ./reconcile
COPY sql ./sql
COPY .streamlit ./.streamlit
RUN pip install --no-cache-dir .
ENV PYTHONUNBUFFERED=1
ENTRYPOINT ["callbacks"]
# `callbacks` runs as PID 1 and receives the stop signal: SIGTERM stops a worker gracefully
# (docker-compose.yml's stop_grace_period gives it the time).
STOPSIGNAL SIGTERM
