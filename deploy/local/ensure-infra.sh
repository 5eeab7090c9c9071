#!/usr/bin/env bash
# Makes sure PostgreSQL and RabbitMQ answer at the configured addresses (defaults 127.0.0.1:5432 and
# 127.0.0.1:5672); starts the locally installed servers when they do not. Exits 1 if still down.
set -uo pipefail
pg_host=${REELHOUSE_PG_HOST:-127.0.0.1}; pg_port=${REELHOUSE_PG_PORT:-5432}
mq_host=${REELHOUSE_MQ_HOST:-127.0.0.1}; mq_port=${REELHOUSE_MQ_PORT:-5672}

up() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_for() { for _ in $(seq 1 "$3"); do up "$1" "$2" && return 0; sleep 1; done; return 1; }

if ! up "$pg_host" "$pg_port"; then
  echo "infra: starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for v in $(ls /etc/postgresql 2>/dev/null); do pg_ctlcluster --skip-systemctl-redirect "$v" main start || true; done
  else
    service postgresql start || true
  fi
  wait_for "$pg_host" "$pg_port" 30 || { echo "infra: PostgreSQL is not reachable on $pg_host:$pg_port" >&2; exit 1; }
fi
if ! up "$mq_host" "$mq_port"; then
  echo "infra: starting RabbitMQ"
  if command -v rabbitmq-server >/dev/null 2>&1; then rabbitmq-server -detached || true; else service rabbitmq-server start || true; fi
  wait_for "$mq_host" "$mq_port" 60 || { echo "infra: RabbitMQ is not reachable on $mq_host:$mq_port" >&2; exit 1; }
fi
echo "infra: PostgreSQL $pg_host:$pg_port and RabbitMQ $mq_host:$mq_port are up"
