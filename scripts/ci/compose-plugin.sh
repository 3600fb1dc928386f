#!/usr/bin/env bash
# Compose v2 (`docker compose`) for CI on Debian. Debian 13 packages it (docker-compose 2.x);
# Debian 12's docker-compose package is v1 (no `secrets: environment`, no `up --wait`), so
# there the plugin (and buildx) comes from Debian 13's packages: downloaded with apt from the
# trixie suite into a private list and cache (the host's sources stay untouched), unpacked,
# cached in $STANDIN_CACHE_DIR/compose-plugin (/var/cache/evinfra) and installed as CLI
# plugins in /usr/local/lib/docker/cli-plugins. Needs root and the docker CLI.
set -euo pipefail

CACHE_DIR=${STANDIN_CACHE_DIR:-/var/cache/evinfra}
MIRROR=${STANDIN_MIRROR:-http://deb.debian.org/debian}
PLUGINS=/usr/local/lib/docker/cli-plugins

if docker compose version >/dev/null 2>&1; then docker compose version; exit 0; fi
if apt-cache policy docker-compose 2>/dev/null | grep -qE 'Candidate: 2\.'; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
else
  cached="$CACHE_DIR/compose-plugin"
  if [ ! -x "$cached/docker-compose" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/unpacked"
    echo "deb $MIRROR trixie main" >"$work/sources.list"
    apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
    apt-get "${apt_opts[@]}" update -qq
    (cd "$work" && apt-get "${apt_opts[@]}" download -qq docker-compose docker-buildx)
    for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/unpacked"; done
    mkdir -p "$cached"
    cp "$work"/unpacked/usr/libexec/docker/cli-plugins/docker-* "$cached/"
  fi
  mkdir -p "$PLUGINS"
  cp "$cached"/docker-* "$PLUGINS/"
fi
docker compose version
