#!/bin/sh
# Run once while the node image is built (tools/kind-node/build.sh), in a container of the staged image with the
# image tarballs mounted at /kind/images: starts containerd, imports every tarball into the k8s.io namespace that
# the kubelet's CRI reads, without unpacking (the CRI unpacks on first use, on the node's /var volume), and stops.
set -eu
containerd >/tmp/containerd.log 2>&1 &
pid=$!
i=0
until ctr version >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 120 ]; then echo "containerd did not start:" >&2; cat /tmp/containerd.log >&2; exit 1; fi
  sleep 0.5
done
for f in /kind/images/*.tar; do
  ctr -n k8s.io images import --no-unpack "$f"
done
ctr -n k8s.io images ls -q
kill "$pid"
wait "$pid" || true
