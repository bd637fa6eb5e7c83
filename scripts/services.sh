#!/usr/bin/env bash
# services.sh — the real PostgreSQL 15, Redis and S3-compatible server (moto,
# in server mode) the test suite runs against, listening on 127.0.0.1 only,
# with their state under one directory; and, in moto's venv, the PyPI
# `standardwebhooks` package the webhook tests verify deliveries with
# (`TEZGRAM_TEST_PYTHON`).
#
#   scripts/services.sh start    install (first time only) and start all three; idempotent
#   scripts/services.sh env      print the exports the tests read:
#                                  eval "$(scripts/services.sh env)"
#   scripts/services.sh status   say what is running
#   scripts/services.sh stop     stop what `start` started; idempotent
#
# Environment (all optional):
#   TEZGRAM_SERVICES_DIR  state directory (default /tmp/tezgram-services); must be
#                         reachable by the `postgres` user, so not under /root
#   TEZGRAM_PG_PORT       PostgreSQL port (default 55432)
#   TEZGRAM_REDIS_PORT    Redis port (default 56379)
#   TEZGRAM_S3_PORT       S3 server port (default 59000)
#   TEZGRAM_PG_BIN        PostgreSQL bin dir (default /usr/lib/postgresql/15/bin)
#
# Runs as root (installs Debian packages, starts PostgreSQL as `postgres` through
# runuser). The databases are throwaway test instances: trust auth on loopback,
# fsync off, no Redis persistence.
set -euo pipefail

STATE_DIR="${TEZGRAM_SERVICES_DIR:-/tmp/tezgram-services}"
PG_DATA="$STATE_DIR/pg"
PG_SOCK="$STATE_DIR/pg-sock"
PG_LOG="$STATE_DIR/pg.log"
REDIS_DIR="$STATE_DIR/redis"
REDIS_PID="$STATE_DIR/redis.pid"
REDIS_LOG="$STATE_DIR/redis.log"
# Markers: present while a service started by this script is running; they
# also record the port it was started on, so `env` and `stop` agree with `start`.
PG_OWNED="$STATE_DIR/pg.owned"
REDIS_OWNED="$STATE_DIR/redis.owned"
S3_OWNED="$STATE_DIR/s3.owned"
S3_PID="$STATE_DIR/s3.pid"
S3_LOG="$STATE_DIR/s3.log"
# moto lives in its own virtualenv, pinned, outside the repository.
S3_VENV="${TEZGRAM_CACHE:-$HOME/.cache/tezgram}/s3-venv"
MOTO_VERSION=5.2.5
# The webhook tests verify deliveries with this independent implementation
# of the Standard Webhooks spec (in the same venv).
STANDARDWEBHOOKS_VERSION=1.3.0
# The bucket the tests share (each gateway under a key prefix of its own).
S3_BUCKET=tezgram-test

log() { echo "services: $*" >&2; }
die() { log "error: $*"; exit 1; }

# recorded_port MARKER ENV_VALUE DEFAULT: the port a running service was started
# on, else the configured one.
recorded_port() {
    if [[ -s "$1" ]]; then cat "$1"; else echo "${2:-$3}"; fi
}
pg_port() { recorded_port "$PG_OWNED" "${TEZGRAM_PG_PORT:-}" 55432; }
redis_port() { recorded_port "$REDIS_OWNED" "${TEZGRAM_REDIS_PORT:-}" 56379; }
s3_port() { recorded_port "$S3_OWNED" "${TEZGRAM_S3_PORT:-}" 59000; }

pick_pg_bin() {
    if [[ -n "${TEZGRAM_PG_BIN:-}" ]]; then echo "$TEZGRAM_PG_BIN"; return; fi
    if [[ -x /usr/lib/postgresql/15/bin/postgres ]]; then echo /usr/lib/postgresql/15/bin; return; fi
    # Fallback when only another major version is installable (`postgresql`).
    local newest
    newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
    echo "${newest:-/usr/lib/postgresql/15/bin}"
}

have_everything() {
    local bin
    bin="$(pick_pg_bin)"
    [[ -x "$bin/postgres" && -x "$bin/initdb" && -x "$bin/pg_ctl" && -x "$bin/pg_isready" ]] &&
        command -v redis-server >/dev/null && command -v redis-cli >/dev/null &&
        command -v psql >/dev/null
}

install_packages() {
    have_everything && return 0
    [[ $EUID -eq 0 ]] || die "PostgreSQL/Redis missing and not root: cannot install"
    local started=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    log "installing packages (apt-get update once)"
    apt-get update -qq
    local pg_pkg=postgresql-15
    local policy
    policy="$(apt-cache policy postgresql-15 2>/dev/null || true)"
    if [[ "$policy" != *"Candidate: "[0-9]* ]]; then
        log "postgresql-15 not available here; installing the distribution's postgresql"
        pg_pkg=postgresql
    fi
    # Keep the packages' own services (PostgreSQL on 5432, Redis on 6379) from
    # starting: we only want our loopback instances. policy-rc.d exit 101 means
    # "action forbidden" to invoke-rc.d; an existing one (e.g. Docker's) is kept.
    local own_policy=""
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        own_policy=1
    fi
    local rc=0
    apt-get install -y -qq --no-install-recommends "$pg_pkg" postgresql-client redis-server redis-tools \
        >"$STATE_DIR/apt.log" 2>&1 || rc=$?
    [[ -n "$own_policy" ]] && rm -f /usr/sbin/policy-rc.d
    [[ $rc -eq 0 ]] || { tail -n 30 "$STATE_DIR/apt.log" >&2; die "apt-get install failed"; }
    have_everything || die "packages installed but binaries still missing (see $STATE_DIR/apt.log)"
    log "installed in $((SECONDS - started))s"
}

# fd 9 (the lock) is closed so daemons do not inherit it and hold it forever.
as_postgres() { runuser -u postgres -- "$@" 9>&-; }

pg_running() {
    [[ -f "$PG_DATA/PG_VERSION" ]] && as_postgres "$(pick_pg_bin)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

start_pg() {
    local bin port
    bin="$(pick_pg_bin)"
    port="$(pg_port)"
    if pg_running; then
        log "postgresql already running on 127.0.0.1:$port"
        [[ -s "$PG_OWNED" ]] || echo "$port" >"$PG_OWNED"
        return 0
    fi
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" 2>/dev/null; then
        die "port $port is taken by a PostgreSQL this script did not start; set TEZGRAM_PG_PORT"
    fi
    as_postgres test -x "$STATE_DIR" || die "$STATE_DIR is not reachable by the postgres user"
    install -d -o postgres -g postgres -m 700 "$PG_SOCK"
    if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
        install -d -o postgres -g postgres -m 700 "$PG_DATA"
        log "initdb $PG_DATA"
        as_postgres "$bin/initdb" -D "$PG_DATA" -A trust -U postgres -E UTF8 --no-locale --no-sync \
            >"$STATE_DIR/initdb.log" 2>&1 || { cat "$STATE_DIR/initdb.log" >&2; die "initdb failed"; }
    fi
    touch "$PG_LOG" && chown postgres:postgres "$PG_LOG"
    as_postgres "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
        -o "-p $port -k $PG_SOCK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || { tail -n 20 "$PG_LOG" >&2; die "postgresql did not start"; }
    echo "$port" >"$PG_OWNED"
    local i
    for ((i = 0; i < 100; i++)); do
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && { log "postgresql up on 127.0.0.1:$port"; return 0; }
        sleep 0.1
    done
    die "postgresql on 127.0.0.1:$port does not answer (see $PG_LOG)"
}

# alive PID: the process exists and is not a zombie (in containers whose init
# does not reap, a stopped daemon can linger as one).
alive() {
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
    [[ -n "$state" && "$state" != Z ]]
}

redis_running() {
    [[ -s "$REDIS_PID" ]] || return 1
    local pid
    pid="$(cat "$REDIS_PID")"
    alive "$pid" && grep -q redis "/proc/$pid/comm" 2>/dev/null
}

start_redis() {
    local port
    port="$(redis_port)"
    if redis_running; then
        log "redis already running on 127.0.0.1:$port"
        [[ -s "$REDIS_OWNED" ]] || echo "$port" >"$REDIS_OWNED"
        return 0
    fi
    if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
        die "port $port is taken by a Redis this script did not start; set TEZGRAM_REDIS_PORT"
    fi
    mkdir -p "$REDIS_DIR"
    rm -f "$REDIS_PID"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize yes --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" --dir "$REDIS_DIR" 9>&- ||
        die "redis-server did not start (see $REDIS_LOG)"
    echo "$port" >"$REDIS_OWNED"
    local i
    for ((i = 0; i < 100; i++)); do
        [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]] &&
            { log "redis up on 127.0.0.1:$port"; return 0; }
        sleep 0.1
    done
    die "redis on 127.0.0.1:$port does not answer (see $REDIS_LOG)"
}

install_moto() {
    local stamp="$S3_VENV/.moto-$MOTO_VERSION-standardwebhooks-$STANDARDWEBHOOKS_VERSION"
    [[ -f "$stamp" && -x "$S3_VENV/bin/moto_server" ]] && return 0
    log "installing moto $MOTO_VERSION (S3-compatible server) and standardwebhooks $STANDARDWEBHOOKS_VERSION into $S3_VENV"
    "${PYTHON:-python3}" -m venv "$S3_VENV"
    "$S3_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "moto[server]==$MOTO_VERSION" "standardwebhooks==$STANDARDWEBHOOKS_VERSION" \
        >"$STATE_DIR/pip.log" 2>&1 ||
        { tail -n 20 "$STATE_DIR/pip.log" >&2; die "pip install moto standardwebhooks failed"; }
    touch "$stamp"
}

s3_running() {
    [[ -s "$S3_PID" ]] && alive "$(cat "$S3_PID")"
}

# s3_request METHOD PATH: one unsigned request to the S3 server (moto
# accepts them); prints the HTTP status.
s3_request() {
    "$S3_VENV/bin/python" - "$1" "http://127.0.0.1:$(s3_port)$2" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[2], method=sys.argv[1])
try:
    print(urllib.request.urlopen(req, timeout=2).status)
except urllib.error.HTTPError as err:
    print(err.code)
except Exception:
    print(0)
PY
}

start_s3() {
    local port
    port="$(s3_port)"
    install_moto
    if s3_running; then
        log "s3 (moto) already running on 127.0.0.1:$port"
        [[ -s "$S3_OWNED" ]] || echo "$port" >"$S3_OWNED"
        return 0
    fi
    if [[ "$(s3_request GET /)" != 0 ]]; then
        die "port $port is taken by a server this script did not start; set TEZGRAM_S3_PORT"
    fi
    echo "$port" >"$S3_OWNED"
    setsid "$S3_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$S3_LOG" 2>&1 9>&- </dev/null &
    echo $! >"$S3_PID"
    local i
    for ((i = 0; i < 150; i++)); do
        if [[ "$(s3_request GET /)" == 200 ]]; then
            [[ "$(s3_request PUT "/$S3_BUCKET")" == 200 ]] || die "creating bucket $S3_BUCKET failed"
            log "s3 (moto) up on 127.0.0.1:$port, bucket $S3_BUCKET"
            return 0
        fi
        sleep 0.1
    done
    die "s3 (moto) on 127.0.0.1:$port does not answer (see $S3_LOG)"
}

# stop_pidfile PIDFILE NAME: stops the daemon whose pid the file holds and
# waits (10 s at most) until it is gone.
stop_pidfile() {
    local pid i
    pid="$(cat "$1")"
    kill "$pid"
    for ((i = 0; i < 100; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    alive "$pid" && die "$2 (pid $pid) did not exit"
    log "$2 stopped"
}

stop_s3() {
    [[ -e "$S3_OWNED" ]] || return 0
    s3_running && stop_pidfile "$S3_PID" "s3 (moto)"
    rm -f "$S3_OWNED" "$S3_PID"
}

stop_pg() {
    [[ -e "$PG_OWNED" ]] || return 0
    if pg_running; then
        as_postgres "$(pick_pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
        log "postgresql stopped"
    fi
    rm -f "$PG_OWNED"
}

stop_redis() {
    [[ -e "$REDIS_OWNED" ]] || return 0
    redis_running && stop_pidfile "$REDIS_PID" redis
    rm -f "$REDIS_OWNED" "$REDIS_PID"
}

# Serialize concurrent invocations sharing a state directory (parallel test
# runs calling `start` at once would otherwise race on initdb).
with_lock() {
    mkdir -p "$STATE_DIR"
    chmod 755 "$STATE_DIR"
    exec 9>"$STATE_DIR/.lock"
    # Daemons started by an older version of this script inherited fd 9 and
    # hold the lock for life; after a short wait, go on without it.
    flock -w 10 9 || log "state dir lock busy; continuing without it"
    "$@"
}

cmd_start() {
    local started=$SECONDS
    install_packages
    start_pg
    start_redis
    start_s3
    log "ready in $((SECONDS - started))s; run: eval \"\$($0 env)\""
}

cmd_stop() {
    stop_s3
    stop_redis
    stop_pg
}

cmd_env() {
    echo "export TEZGRAM_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$(pg_port)/postgres"
    echo "export TEZGRAM_TEST_REDIS_URL=redis://127.0.0.1:$(redis_port)"
    echo "export TEZGRAM_TEST_S3_URL=http://127.0.0.1:$(s3_port)/$S3_BUCKET"
    echo "export TEZGRAM_TEST_PYTHON=$S3_VENV/bin/python"
}

cmd_status() {
    if pg_running; then echo "postgresql: running on 127.0.0.1:$(pg_port)"; else echo "postgresql: stopped"; fi
    if redis_running; then echo "redis: running on 127.0.0.1:$(redis_port)"; else echo "redis: stopped"; fi
    if s3_running; then echo "s3 (moto): running on 127.0.0.1:$(s3_port)"; else echo "s3 (moto): stopped"; fi
}

case "${1:-}" in
    start) with_lock cmd_start ;;
    stop) with_lock cmd_stop ;;
    env) cmd_env ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 start|stop|env|status" >&2
        exit 2
        ;;
esac
