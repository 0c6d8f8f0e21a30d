#!/bin/sh
# Container entrypoint: runs `jit "$@"` (broker, worker, demo, backtest). A worker started without
# JIT_ADVERTISE_URL or --advertise-url advertises http://<container hostname>:<port>: the name
# Docker's DNS resolves for the other containers of the network, so `--scale worker=N` just works.
set -eu
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
jit="$here/../../bin/jit.js"

if [ "${1:-}" = worker ] && [ -z "${JIT_ADVERTISE_URL:-}" ]; then
  port="${JIT_WORKER_PORT:-7000}"
  explicit=""
  prev=""
  for arg in "$@"; do
    if [ "$prev" = --port ]; then port="$arg"; fi
    case "$arg" in
      --port=*) port="${arg#--port=}" ;;
      --advertise-url | --advertise-url=*) explicit=1 ;;
    esac
    prev="$arg"
  done
  if [ -z "$explicit" ]; then
    host="${HOSTNAME:-$(cat /etc/hostname)}"
    JIT_ADVERTISE_URL="http://$host:$port"
    export JIT_ADVERTISE_URL
  fi
fi

exec node "$jit" "$@"
