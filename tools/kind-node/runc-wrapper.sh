#!/bin/sh
# A runc wrapper for machines whose capability bounding set lacks CAP_SYS_RESOURCE (see CapBnd in
# /proc/self/status), where runc fails with "unable to apply caps: operation not permitted" for any container that
# asks for that capability (every --privileged one) and with "can't get final child's PID from pipe: EOF" for any
# that lowers its oom_score_adj (Kubernetes' pod sandboxes ask for -998). It edits the OCI spec that runc is handed
# (the bundle's config.json for create and run, the process.json of exec) so that it asks for neither, then runs
# the real runc with the same arguments. Where the capability is in the bounding set it changes nothing.
#
# Registered twice by the kind tier: by tools/kind-node/docker.sh as the Docker engine's default runtime (the kind
# nodes are privileged containers), and in the node image as the runc of containerd's CRI runtime (the pods).
set -eu
real=
for r in /usr/sbin/runc /usr/bin/runc; do
  if [ -x "$r" ]; then real=$r; break; fi
done
[ -n "$real" ] || { echo "runc wrapper: no runc in /usr/sbin or /usr/bin" >&2; exit 127; }

# CAP_SYS_RESOURCE is capability 24: bit 24 of CapBnd (hexadecimal).
bnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
if [ -n "$bnd" ] && [ $(( (0x$bnd >> 24) & 1 )) -eq 1 ]; then
  exec "$real" "$@"
fi

# The spec is JSON as containerd writes it (one line); these edits keep it valid JSON in either spacing.
fix() {
  [ -f "$1" ] || return 0
  sed -i \
    -e 's/"CAP_SYS_RESOURCE",[[:space:]]*//g' \
    -e 's/,[[:space:]]*"CAP_SYS_RESOURCE"//g' \
    -e 's/"CAP_SYS_RESOURCE"//g' \
    -e 's/"oomScoreAdj":[[:space:]]*-[0-9][0-9]*/"oomScoreAdj":0/g' \
    "$1"
}
prev=
for a in "$@"; do
  case $prev in
    --bundle|-b) fix "$a/config.json" ;;
    --process|-p) fix "$a" ;;
  esac
  case $a in
    --bundle=*) fix "${a#--bundle=}/config.json" ;;
    --process=*) fix "${a#--process=}" ;;
  esac
  prev=$a
done
exec "$real" "$@"
