#!/bin/sh
# Entrypoint of the reelhouse/nginx image (edge and RTMP ingest).
#
#   render-and-run.sh <config template>
#
# Renders the template the same way deploy/local/render.py does for the laptop stack: every braced,
# upper-case placeholder ${NAME} is replaced by the value of the environment variable NAME; nginx's
# own variables ($uri, $http_upgrade...) are left alone. A placeholder without a value, or a value
# containing a character that nginx would read as syntax (quotes, backslash, $, ;, braces,
# whitespace), stops the container with exit code 64 and a message naming it. The rendered file is
# ${PREFIX}/nginx.conf; nginx then runs in the foreground as the container's (non-root) user.
#
# ${PREFIX} must be writable (an emptyDir): nginx keeps its pid file, temp directories and the
# playback cache there; the access logs named ${PREFIX}/<name>.log in the template go to stdout.
set -eu

template=${1:?usage: render-and-run.sh <config template>}
: "${PREFIX:?PREFIX (a writable directory) is required}"
[ -r "$template" ] || { echo "render-and-run: cannot read $template" >&2; exit 64; }

names=$(grep -o '\${[A-Z][A-Z0-9_]*}' "$template" | sort -u | sed 's/^\${//; s/}$//')
shell_format=""
problems=""
for name in $names; do
    eval "isset=\${$name+x}"
    if [ -z "$isset" ]; then
        problems="$problems\n  $name: not set"
        continue
    fi
    eval "value=\${$name}"
    case "$value" in
        *[\"\'\\\$\;{}\ \	]*) problems="$problems\n  $name: contains a character nginx would parse" ;;
    esac
    shell_format="$shell_format \${$name}"
done
if [ -n "$problems" ]; then
    printf "render-and-run: %s cannot be rendered:%b\n" "$template" "$problems" >&2
    exit 64
fi

mkdir -p "$PREFIX"
envsubst "$shell_format" <"$template" >"$PREFIX/nginx.conf"
# Access logs to stdout. nginx (re)opens its log files by name, which fails for /dev/stdout when the
# container runtime's stdout pipe belongs to another user; so each log named in the template becomes
# a link to /dev/stdout when this user may open it, else a FIFO drained to our stdout by a cat that
# holds it open read-write (so it never sees end-of-file when nginx reopens its logs).
can_open_stdout=no
(: >>/dev/stdout) 2>/dev/null && can_open_stdout=yes
for log in $(grep -o '\${PREFIX}/[A-Za-z0-9._-]*\.log' "$template" | sort -u | sed 's|^\${PREFIX}/||'); do
    path="$PREFIX/$log"
    if [ -L "$path" ] || [ -p "$path" ]; then
        continue
    fi
    rm -f "$path"
    if [ "$can_open_stdout" = yes ]; then
        ln -s /dev/stdout "$path"
    else
        mkfifo -m 600 "$path"
        cat 0<>"$path" &
    fi
done

nginx -p "$PREFIX" -c "$PREFIX/nginx.conf" -e stderr -t -q
exec nginx -p "$PREFIX" -c "$PREFIX/nginx.conf" -e stderr -g 'daemon off;'
