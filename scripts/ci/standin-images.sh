#!/usr/bin/env bash
# Stand-in base images for a Docker engine that cannot pull (no image registry reachable):
# minimal Debian 13 (trixie) root file systems from Debian's package mirror, imported under
# their own names (never tagged as the official images they replace):
#   evinfra-standin/node:20-trixie    Debian's nodejs 20 + npm (from the npm registry), like node:20-slim
#   evinfra-standin/redis:8-trixie    Debian's redis-server 8.0, /data owned by the redis user
# Use them with NODE_IMAGE=evinfra-standin/node:20-trixie REDIS_IMAGE=evinfra-standin/redis:8-trixie.
#
# The root file systems are cached as tarballs under $STANDIN_CACHE_DIR (/var/cache/evinfra),
# keyed by the date (UTC, so at most one debootstrap a day) and the package list; an image
# already present in the engine is kept. Needs root, debootstrap and a running engine
# (DOCKER_HOST is honoured). Also reads STANDIN_MIRROR (http://deb.debian.org/debian),
# STANDIN_NPM_VERSION (10: the npm major that Node 20 ships with).
set -euo pipefail

CACHE_DIR=${STANDIN_CACHE_DIR:-/var/cache/evinfra}
MIRROR=${STANDIN_MIRROR:-http://deb.debian.org/debian}
NPM_VERSION=${STANDIN_NPM_VERSION:-10}
NODE_IMAGE=evinfra-standin/node:20-trixie
REDIS_IMAGE=evinfra-standin/redis:8-trixie

say() { echo "standin: $*"; }
die() { echo "standin: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install -y debootstrap"
docker info >/dev/null 2>&1 || die "no Docker engine answers at ${DOCKER_HOST:-the default socket}"
mkdir -p "$CACHE_DIR"

# rootfs NAME PACKAGES...: prints the path of a cached tarball of a trixie minbase with PACKAGES.
rootfs() {
  local name=$1 key tarball dir
  shift
  key=$(printf '%s\n' "$(date -u +%F)" "$@" | sha256sum | cut -c1-12)
  tarball="$CACHE_DIR/$name-$key.tar"
  if [ -s "$tarball" ]; then echo "$tarball"; return 0; fi
  dir=$(mktemp -d "$CACHE_DIR/$name.XXXXXX")
  chmod 755 "$dir"
  say "debootstrap trixie for $name (+ $*), cache: $tarball" >&2
  local include
  include=$(IFS=,; echo "$*")
  mkdir -p "$CACHE_DIR/debs-$name"
  debootstrap --variant=minbase --include="$include" --cache-dir="$CACHE_DIR/debs-$name" trixie "$dir" "$MIRROR" >"$dir.log" 2>&1 \
    || { tail -n 20 "$dir.log" >&2; rm -rf "$dir" "$dir.log"; die "debootstrap failed (log above)"; }
  # What an image does not need: package lists, caches, docs.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/locale/*
  customize_"$name" "$dir"
  tar -C "$dir" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -rf "$dir" "$dir.log"
  # Older keys of the same name are stale.
  find "$CACHE_DIR" -maxdepth 1 -name "$name-*.tar" ! -name "$(basename "$tarball")" -delete
  echo "$tarball"
}

customize_node() {
  local dir=$1 pack
  # npm as node:20-slim has it: /usr/local/lib/node_modules/npm, linked from /usr/local/bin.
  pack=$(mktemp -d)
  (cd "$pack" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$dir/usr/local/lib/node_modules/npm" "$dir/usr/local/bin"
  tar -xzf "$pack"/npm-*.tgz -C "$dir/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir/usr/local/bin/npx"
  rm -rf "$pack"
  # The node user of the official image (uid 1000).
  chroot "$dir" useradd --uid 1000 --user-group --create-home --shell /bin/bash node
}

customize_redis() {
  local dir=$1
  mkdir -p "$dir/data"
  chroot "$dir" chown redis:redis /data
}

import_image() {
  local image=$1 tarball=$2
  shift 2
  if docker image inspect "$image" >/dev/null 2>&1 && [ "$(docker image inspect -f '{{index .Config.Labels "evinfra.rootfs"}}' "$image")" = "$(basename "$tarball")" ]; then
    say "$image present"
    return 0
  fi
  docker import --change "LABEL evinfra.rootfs=$(basename "$tarball")" "$@" "$tarball" "$image" >/dev/null
  say "$image imported ($(du -h "$tarball" | cut -f1) root file system)"
}

# Both root file systems at once (each debootstrap waits on the mirror half of the time).
paths=$(mktemp -d)
trap 'rm -rf "$paths"' EXIT
rootfs node nodejs ca-certificates passwd >"$paths/node" &
node_job=$!
rootfs redis redis-server >"$paths/redis" &
redis_job=$!
wait "$node_job" || die "the node root file system failed"
wait "$redis_job" || die "the redis root file system failed"
node_tar=$(cat "$paths/node")
redis_tar=$(cat "$paths/redis")
import_image "$NODE_IMAGE" "$node_tar" --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change 'CMD ["node"]'
import_image "$REDIS_IMAGE" "$redis_tar" --change 'WORKDIR /data' --change 'CMD ["redis-server"]'
