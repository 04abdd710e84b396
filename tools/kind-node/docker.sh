#!/usr/bin/env bash
# make docker / make docker-stop: a Docker engine for the kind tier on a machine that has none.
#
#   start   installs Debian's docker.io where dockerd is missing, then starts dockerd in the background (its log
#           and pid file in $DOCKER_STATE, default bin/docker). Where root's capability bounding set lacks
#           CAP_SYS_RESOURCE, every privileged container (a kind node) fails in runc, so dockerd gets
#           runc-wrapper.sh as its default runtime; elsewhere it runs plain runc. An engine that already answers is
#           left alone: nothing is started and stop will not touch it.
#   stop    stops the dockerd that start started (and the containerd it runs), and nothing else.
#   status  says whether an engine answers and who started it.
set -euo pipefail
cd "$(dirname "$0")/../.."
state=${DOCKER_STATE:-$PWD/bin/docker}
pidfile=$state/dockerd.pid
runtime=kfp-authcheck-runc

answers() { timeout 10 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

needs_wrapper() {
  local bnd
  bnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
  [ $(( (0x$bnd >> 24) & 1 )) -eq 0 ]
}

start() {
  if command -v docker >/dev/null 2>&1 && answers; then
    echo "docker: an engine answers already ($(docker info --format '{{.ServerVersion}}' 2>/dev/null)); nothing started"
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "docker: installing Debian's docker.io ..."
    local sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    timeout 900 $sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null'
  fi
  mkdir -p "$state"
  local args=(--pidfile "$pidfile")
  if needs_wrapper; then
    install -m 0755 tools/kind-node/runc-wrapper.sh "$state/runc-wrapper"
    args+=(--add-runtime "$runtime=$state/runc-wrapper" --default-runtime "$runtime")
    echo "docker: CAP_SYS_RESOURCE is not in the capability bounding set: privileged containers run through $state/runc-wrapper"
  fi
  echo "docker: starting dockerd (log $state/dockerd.log) ..."
  setsid dockerd "${args[@]}" >"$state/dockerd.log" 2>&1 </dev/null &
  echo $! >"$state/started"
  local deadline=$((SECONDS + 90))
  until answers; do
    if ! kill -0 "$(cat "$state/started")" 2>/dev/null; then
      echo "docker: dockerd exited; the end of its log:" >&2
      tail -20 "$state/dockerd.log" >&2
      rm -f "$state/started"
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "docker: dockerd did not answer within 90s (log $state/dockerd.log)" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "docker: engine $(docker info --format '{{.ServerVersion}} ({{.Driver}}, default runtime {{.DefaultRuntime}})') is up; make docker-stop stops it"
}

stop() {
  if [ ! -f "$state/started" ]; then
    echo "docker: no dockerd started by make docker; nothing to stop"
    return 0
  fi
  local pid
  pid=$(cat "$state/started")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null; do
      if [ $SECONDS -ge $deadline ]; then
        echo "docker: dockerd ($pid) did not stop within 60s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.5
    done
  fi
  rm -f "$state/started"
  echo "docker: stopped dockerd ($pid)"
}

status() {
  if answers; then
    echo "docker: an engine answers ($(docker info --format '{{.ServerVersion}}, default runtime {{.DefaultRuntime}}' 2>/dev/null))"
  else
    echo "docker: no engine answers"
  fi
  [ -f "$state/started" ] && echo "docker: make docker started dockerd $(cat "$state/started")"
  return 0
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
