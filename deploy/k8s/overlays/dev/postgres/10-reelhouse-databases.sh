#!/bin/sh
# Runs once, when the dev PostgreSQL starts on an empty data directory (the official image sources
# /docker-entrypoint-initdb.d/*.sh as $POSTGRES_USER). One database per service, owned by a role of
# the same name (reelhouse_<service> / <service>); no other role may connect to it.
# Passwords come from the environment: <SERVICE>_DB_PASSWORD (the <service>-database Secrets).
for service in gallery upload transcoder streaming chat; do
    upper=$(echo "$service" | tr '[:lower:]' '[:upper:]')
    eval "password=\${${upper}_DB_PASSWORD:?${upper}_DB_PASSWORD is not set}"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v role="$service" -v password="$password" -v db="reelhouse_$service" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
    echo "reelhouse: database reelhouse_$service (owner $service) created"
done
