#!/usr/bin/env bash
# make kind-node-image: a kind node image for the pinned Kubernetes, built without any container registry, from
# pinned sources only: Debian's packages and the Go module proxy.
#
#   1. Kubernetes (kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, kubelet, kubeadm, kubectl)
#      from tools/kube-apiserver's k8s.io/kubernetes, in one `go build`, with the version ldflags Kubernetes' own
#      build sets (built plainly they say v0.0.0, which kubeadm and kubectl cannot parse). etcd is the local tier's
#      (tools/etcd); CoreDNS the version kubeadm deploys (tools/coredns, static); pause is tools/kind-node/pause
#      (static).
#   2. A Debian root filesystem (debootstrap, minbase) with systemd, containerd, runc, iptables and the CNI
#      plugins, from the mirror the machine's apt sources name (KIND_NODE_MIRROR overrides).
#   3. The images kubeadm asks for (`kubeadm config images list`), under its names and tags, written as tarballs
#      by cmd/kfp-authcheck-image: the cgo builds on a base of Debian's C library, kube-proxy on Debian's
#      iptables, CoreDNS and pause on an empty base.
#   4. The node image: the root filesystem imported into Docker, kind's base files from the pinned
#      sigs.k8s.io/kind module (images/base/files), the binaries, files/ (containerd's config, a ptp + host-local
#      CNI that needs no image, kind's fallback storage class) and runc-wrapper.sh as containerd's runc; then the
#      image tarballs imported into its containerd, and the result committed as
#      kfp-authcheck.local/kind-node:<kubernetes version>-<hash of every input>.
#
# Every step is skipped when its inputs are unchanged (stamps under bin/kind-node, and the node image's tag), so a
# second build takes seconds. It prints each step's time and writes the image's name to bin/kind-node/image.
# Needs a Docker engine for step 4 (make docker starts one) and root for debootstrap.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
out=${KIND_NODE_OUT:-$root/bin/kind-node}
go=${GO:-go}
suite=bookworm
packages=systemd,systemd-sysv,iproute2,iptables,nftables,ethtool,ca-certificates,containerd,runc,containernetworking-plugins,conntrack,kmod,procps,util-linux,mount,libseccomp2,netbase
mkdir -p "$out"
begin=$SECONDS
step() { echo "kind-node: $*"; }
took() { step "$1 in $(($SECONDS - $2))s"; }

mirror=${KIND_NODE_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list 2>/dev/null \
    | sed -nE '/security/d; s/^URIs: *//p; s/^deb +(\[[^]]*\] +)?//p' | awk 'NR == 1 {print $1}' || true)
fi
[ -n "$mirror" ] || { echo "kind-node: no Debian mirror in the apt sources; set KIND_NODE_MIRROR" >&2; exit 2; }

hashof() { cat "$@" | sha256sum | cut -c1-16; }
goversion=$($go env GOVERSION)
kver=$(cd tools/kube-apiserver && $go list -m -f '{{.Version}}' k8s.io/kubernetes)
kminor=$(echo "$kver" | sed -E 's/^v([0-9]+)\.([0-9]+)\..*/\2/')
kmajor=$(echo "$kver" | sed -E 's/^v([0-9]+)\..*/\1/')

# 1a. Kubernetes, one go build.
k8s=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl)
stamp="k8s.io/kubernetes@$kver $goversion mod:$(hashof tools/kube-apiserver/go.mod tools/kube-apiserver/go.sum)"
if [ "$(cat "$out/k8s/stamp" 2>/dev/null)" != "$stamp" ]; then
  step "building ${k8s[*]} $kver (one go build) ..."
  t=$SECONDS
  rm -rf "$out/k8s" && mkdir -p "$out/k8s.build"
  ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$kver -X $p.gitMajor=$kmajor -X $p.gitMinor=$kminor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  pkgs=()
  for b in "${k8s[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  (cd tools/kube-apiserver && $go build -trimpath -ldflags "$ld" -o "$out/k8s.build/" "${pkgs[@]}")
  mv "$out/k8s.build" "$out/k8s"
  echo "$stamp" >"$out/k8s/stamp"
  took "built Kubernetes" $t
fi

# 1b. etcd (the local tier's build), CoreDNS and pause.
GO=$go bash tools/build.sh etcd
etcd=$root/bin/tools/etcd
stamp="github.com/coredns/coredns@$(cd tools/coredns && $go list -m -f '{{.Version}}' github.com/coredns/coredns) $goversion mod:$(hashof tools/coredns/go.mod tools/coredns/go.sum)"
if [ "$(cat "$out/coredns.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -x "$out/coredns" ]; then
  step "building CoreDNS (static) ..."
  t=$SECONDS
  (cd tools/coredns && CGO_ENABLED=0 $go build -trimpath -ldflags '-s -w' -o "$out/coredns" github.com/coredns/coredns)
  echo "$stamp" >"$out/coredns.stamp"
  took "built CoreDNS" $t
fi
CGO_ENABLED=0 $go build -trimpath -ldflags '-s -w' -o "$out/pause" ./tools/kind-node/pause
$go build -o "$out/kfp-authcheck-image" ./cmd/kfp-authcheck-image

# 2. The root filesystem.
stamp="debian $suite minbase $packages $mirror"
if [ "$(cat "$out/rootfs.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -d "$out/rootfs" ]; then
  step "debootstrap $suite from $mirror ..."
  t=$SECONDS
  rm -rf "$out/rootfs" "$out/rootfs.tmp" "$out/rootfs.stamp"
  debootstrap --variant=minbase --include="$packages" "$suite" "$out/rootfs.tmp" "$mirror" >"$out/debootstrap.log" 2>&1 \
    || { tail -20 "$out/debootstrap.log" >&2; exit 1; }
  rm -rf "$out/rootfs.tmp/var/cache/apt/archives/"*.deb "$out/rootfs.tmp/var/lib/apt/lists/"*
  mv "$out/rootfs.tmp" "$out/rootfs"
  echo "$stamp" >"$out/rootfs.stamp"
  rm -f "$out"/base-*.tar
  took "root filesystem" $t
fi
rootfs=$(readlink -f "$out/rootfs")

# 3. Bases cut from the root filesystem by Debian package (and what those depend on), then the images.
closure() {
  local todo=("$@") seen=" " p deps
  while [ ${#todo[@]} -gt 0 ]; do
    p=${todo[0]}; todo=("${todo[@]:1}")
    case $seen in *" $p "*) continue ;; esac
    chroot "$rootfs" dpkg-query -W "$p" >/dev/null 2>&1 || continue
    seen="$seen$p "
    deps=$(chroot "$rootfs" dpkg-query -W -f '${Pre-Depends}, ${Depends}\n' "$p" | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/:any//; s/ //g' | grep -v '^$' || true)
    for d in $deps; do todo+=("$d"); done
  done
  echo $seen
}
makebase() {
  local name=$1; shift
  local tarf=$out/base-$name.tar
  [ -f "$tarf" ] && return 0
  local list=$out/base-$name.list
  # One entry per path: tar stores a repeated path as a hard link to itself, which containerd cannot apply.
  {
    for l in bin sbin lib lib64; do [ -L "$rootfs/$l" ] && echo "$l"; done
    for p in $(closure "$@"); do chroot "$rootfs" dpkg-query -L "$p" 2>/dev/null || true; done | grep '^/' | while read -r f; do
      [ -e "$rootfs$f" ] || [ -L "$rootfs$f" ] || continue
      [ "$f" = /. ] && continue
      d=$(readlink -f "$rootfs$(dirname "$f")")
      d=${d#"$rootfs"}
      echo "${d#/}/$(basename "$f")"
    done
    echo tmp
  } | sed 's|^/||' | grep -v '^\.\?$' | sort -u >"$list"
  # What update-alternatives made for those packages (iptables is /usr/sbin/iptables -> /etc/alternatives/iptables
  # -> xtables-nft-multi): dpkg lists none of it.
  local a name tgt d l
  for a in "$rootfs"/etc/alternatives/*; do
    name=${a##*/}
    tgt=$(readlink "$a" || true)
    [ -n "$tgt" ] || continue
    grep -qxF "${tgt#/}" "$list" || continue
    echo "etc/alternatives/$name"
    for d in usr/sbin usr/bin; do
      for l in "$rootfs/$d"/*; do
        if [ -L "$l" ] && [ "$(readlink "$l")" = "/etc/alternatives/$name" ]; then echo "$d/${l##*/}"; fi
      done
    done
  done >>"$list"
  sort -u -o "$list" "$list"
  tar -C "$rootfs" --no-recursion --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$tarf.tmp" -T "$list"
  mv "$tarf.tmp" "$tarf"
}
t=$SECONDS
makebase glibc libc6 netbase ca-certificates base-files
makebase iptables libc6 netbase ca-certificates base-files iptables conntrack kmod
ls -la "$out"/base-*.tar | awk '{print "kind-node: base " $9 ": " int($5/1048576) " MB"}'

mkdir -p "$out/images"
kimg() { # program binary ref version [base]
  local prog=$1 bin=$2 ref=$3 version=$4 base=${5:-}
  local f=$out/images/$prog.tar
  local stamp="$ref $(hashof "$bin" ${base:+"$base"} "$out/kfp-authcheck-image")"
  if [ "$(cat "$f.stamp" 2>/dev/null)" = "$stamp" ] && [ -f "$f" ]; then return 0; fi
  "$out/kfp-authcheck-image" -program "$prog" -binary "$bin" -out "$f" -version "$version" -ref "$ref" ${base:+-base "$base"} | head -1
  echo "$stamp" >"$f.stamp"
}
# The names and tags kubeadm asks for.
mapfile -t wanted < <("$out/k8s/kubeadm" config images list --kubernetes-version "$kver" 2>/dev/null)
[ ${#wanted[@]} -ge 6 ] || { echo "kind-node: kubeadm config images list said: ${wanted[*]}" >&2; exit 1; }
etcdver=$(sed 's/^[^@]*@\([^ ]*\).*/\1/' bin/tools/etcd.stamp)
for ref in "${wanted[@]}"; do
  n=${ref##*/}; n=${n%%:*}
  case $n in
    kube-proxy) kimg kube-proxy "$out/k8s/kube-proxy" "$ref" "$kver" "$out/base-iptables.tar" ;;
    kube-*) kimg "$n" "$out/k8s/$n" "$ref" "$kver" "$out/base-glibc.tar" ;;
    etcd) kimg etcd "$etcd" "$ref" "$etcdver" "$out/base-glibc.tar" ;;
    coredns) kimg coredns "$out/coredns" "$ref" "${ref##*:}" ;;
    pause) kimg pause "$out/pause" "$ref" "${ref##*:}" ;;
    *) echo "kind-node: kubeadm asks for $ref, which this build does not make" >&2; exit 1 ;;
  esac
done
took "images" $t

# 4. The node image.
kindmod=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kind)
inputs=$(cd "$out" && { cat rootfs.stamp k8s/stamp coredns.stamp; sha256sum pause base-*.tar images/*.tar.stamp; } | sha256sum | cut -c1-8)
inputs=$(echo "$inputs $(hashof tools/kind-node/runc-wrapper.sh $(find tools/kind-node/files "$kindmod/images/base/files" -type f | sort) "$0")" | sha256sum | cut -c1-12)
tag=kfp-authcheck.local/kind-node:$kver-$inputs
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag" >"$out/image"
  step "node image $tag is built; $(($SECONDS - begin))s in all"
  exit 0
fi
t=$SECONDS
rstamp=$(hashof "$out/rootfs.stamp")
base=kfp-authcheck.local/kind-node-rootfs:$rstamp
if ! docker image inspect "$base" >/dev/null 2>&1; then
  step "importing the root filesystem into Docker ..."
  tar -C "$rootfs" -c . | docker import - "$base" >/dev/null
fi
ctx=$out/context
rm -rf "$ctx" && mkdir -p "$ctx/root/usr/bin" "$ctx/root/usr/local/bin" "$ctx/root/kind" "$ctx/root/etc/systemd/system/multi-user.target.wants"
cp -r "$kindmod/images/base/files/." "$ctx/root/"
cp -r tools/kind-node/files/etc tools/kind-node/files/kind "$ctx/root/"
chmod -R u+w "$ctx/root"
cp tools/kind-node/files/import-images.sh "$ctx/root/kind/bin/import-images.sh"
cp tools/kind-node/runc-wrapper.sh "$ctx/root/usr/local/bin/runc-wrapper"
cp "$out/k8s/kubelet" "$out/k8s/kubeadm" "$out/k8s/kubectl" "$ctx/root/usr/bin/"
ln -s /usr/bin/containerd "$ctx/root/usr/local/bin/containerd"
echo "$kver" >"$ctx/root/kind/version"
for u in kubelet containerd undo-mount-hacks kfp-authcheck-service-cidr; do ln -sf "/etc/systemd/system/$u.service" "$ctx/root/etc/systemd/system/multi-user.target.wants/$u.service"; done
ln -sf /dev/null "$ctx/root/etc/systemd/system/systemd-binfmt.service"
mkdir -p "$ctx/root/etc/kubernetes/manifests" "$ctx/root/etc/systemd/journald.conf.d"
printf '[Journal]\nReadKMsg=no\n' >"$ctx/root/etc/systemd/journald.conf.d/kind.conf"
chmod 0755 "$ctx/root/usr/local/bin/"* "$ctx/root/kind/bin/"* "$ctx/root/usr/bin/"*
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $base
COPY root/ /
DOCKERFILE
staged=kfp-authcheck.local/kind-node-staged:$inputs
DOCKER_BUILDKIT=0 docker build -q -t "$staged" "$ctx" >/dev/null 2>"$out/docker-build.log" || { cat "$out/docker-build.log" >&2; exit 1; }
step "importing the images into the node's containerd ..."
name=kfp-authcheck-kind-node-build-$$
docker rm -f "$name" >/dev/null 2>&1 || true
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
docker run --name "$name" --privileged --entrypoint /kind/bin/import-images.sh -v "$out/images:/kind/images:ro" "$staged"
# kind's node image settings; Docker 20.10's commit takes no STOPSIGNAL, so a last build step adds it.
docker commit -c 'ENV container=docker' -c 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' -c 'CMD []' \
  "$name" "$staged-imported" >/dev/null
docker rm -f "$name" >/dev/null
printf 'FROM %s\nSTOPSIGNAL SIGRTMIN+3\n' "$staged-imported" | DOCKER_BUILDKIT=0 docker build -q -t "$tag" - >/dev/null 2>"$out/docker-build.log" \
  || { cat "$out/docker-build.log" >&2; exit 1; }
docker rmi "$staged" "$staged-imported" >/dev/null
rm -rf "$ctx"
echo "$tag" >"$out/image"
took "node image $tag" $t
step "$(($SECONDS - begin))s in all; the image: $tag (bin/kind-node/image)"
