#!/usr/bin/env bash
# Builds the real programs the local tier runs (Dex, oauth2-proxy, etcd, kube-apiserver, kube-controller-manager,
# the KFP API server and the S3-compatible store it needs) from the pinned Go modules under tools/, into
# bin/tools/. Each tool is its own module so that Go's minimal version selection never mixes the programs'
# dependency graphs (each is built against the versions its own release was tested with); kube-apiserver and
# kube-controller-manager come from one module (tools/kube-apiserver, k8s.io/kubernetes) and are built by one
# `go build`, so the Kubernetes packages they share compile once.
#
# A binary is rebuilt only when its pin changes: bin/tools/<name>.stamp records the module version, the Go version
# and a hash of the tool's go.mod, go.sum and own Go files (tools/s3 holds a small main); a matching stamp skips
# the build.
#
# With STATIC=1 the binaries are static linux builds for container images (the kind tier's Dex and oauth2-proxy,
# make image), into bin/static/: oauth2-proxy without cgo; Dex with cgo (its sqlite storage needs it, and its
# config package will not build without) linked statically against glibc, with netgo and osusergo so no lookup
# goes through glibc's NSS and without sqlite's extension loading (dlopen).
#
# Usage: tools/build.sh [name...]      (default: every tool)
# Env:   TOOLS_BIN (default bin/tools, with STATIC=1 bin/static), GO (default go), STATIC
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
static=${STATIC:-}
if [ -n "$static" ]; then
  bin=${TOOLS_BIN:-$root/bin/static}
else
  bin=${TOOLS_BIN:-$root/bin/tools}
fi
go=${GO:-go}
mkdir -p "$bin"

# name | module directory under tools/ | main package | pinned module
# Tools that share a module directory are built together, by one `go build` of their stale packages.
tools=(
  "dex|dex|github.com/dexidp/dex/cmd/dex|github.com/dexidp/dex"
  "oauth2-proxy|oauth2-proxy|github.com/oauth2-proxy/oauth2-proxy/v7|github.com/oauth2-proxy/oauth2-proxy/v7"
  "etcd|etcd|go.etcd.io/etcd/server/v3|go.etcd.io/etcd/server/v3"
  "kube-apiserver|kube-apiserver|k8s.io/kubernetes/cmd/kube-apiserver|k8s.io/kubernetes"
  "kube-controller-manager|kube-apiserver|k8s.io/kubernetes/cmd/kube-controller-manager|k8s.io/kubernetes"
  "kfp-apiserver|kfp-apiserver|github.com/kubeflow/pipelines/backend/src/apiserver|github.com/kubeflow/pipelines"
  "s3|s3|github.com/kfp-authcheck/kfp-authcheck/tools/s3|github.com/johannesboyne/gofakes3"
)
# The Dex and oauth2-proxy releases the built-in profiles name (profile/profiles/*.yaml: dex.version,
# gateway.version), each in its own module directory tools/<name>-<version>, built as bin/tools/<name>-<version>.
# Only versions some built-in profile runs are listed (the current pins above count as the version they pin);
# a version the Go module proxy does not serve is run as the nearest served one (clusters/local/versions.go),
# and TestVersionedToolsMatchProfiles fails when this list and the profiles part. Never built with STATIC=1: the
# kind images keep the single current pins. With an empty build cache (modules downloaded) the six take about
# 7 minutes on 2 cores (Dex 56-71 s each, oauth2-proxy 48-119 s each).
versioned=(
  "dex-v2.36.0|dex-v2.36.0|github.com/dexidp/dex/cmd/dex|github.com/dexidp/dex"
  "dex-v2.39.1|dex-v2.39.1|github.com/dexidp/dex/cmd/dex|github.com/dexidp/dex"
  "dex-v2.44.0|dex-v2.44.0|github.com/dexidp/dex/cmd/dex|github.com/dexidp/dex"
  "oauth2-proxy-v7.6.0|oauth2-proxy-v7.6.0|github.com/oauth2-proxy/oauth2-proxy/v7|github.com/oauth2-proxy/oauth2-proxy/v7"
  "oauth2-proxy-v7.7.1|oauth2-proxy-v7.7.1|github.com/oauth2-proxy/oauth2-proxy/v7|github.com/oauth2-proxy/oauth2-proxy/v7"
  "oauth2-proxy-v7.15.6|oauth2-proxy-v7.15.6|github.com/oauth2-proxy/oauth2-proxy/v7|github.com/oauth2-proxy/oauth2-proxy/v7"
)
[ -z "$static" ] && tools+=("${versioned[@]}")
names=()
for entry in "${tools[@]}"; do names+=("${entry%%|*}"); done

want=("$@")
selected() {
  [ ${#want[@]} -eq 0 ] && return 0
  local w
  for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}

if [ ${#want[@]} -gt 0 ]; then
  for w in "${want[@]}"; do
    case " ${names[*]} " in *" $w "*) ;;
      *) echo "tools: unknown tool $w ($(IFS=,; echo "${names[*]}" | sed 's/,/, /g'))" >&2; exit 2 ;; esac
  done
fi

# The file `go build -o DIR pkg` writes: the last element of the import path that is not a major version.
outname() {
  local p=$1
  [[ $p =~ /v[0-9]+$ ]] && p=${p%/*}
  echo "${p##*/}"
}

goversion=$($go env GOVERSION)
# Pass 1: which selected tools are stale, grouped by module directory (in the order of the list).
dirs=()
declare -A pending=() stamps=() versions=() pkgs=()
for entry in "${tools[@]}"; do
  IFS='|' read -r name dir pkg mod <<<"$entry"
  selected "$name" || continue
  moddir="$root/tools/$dir"
  version=$(cd "$moddir" && $go list -m -f '{{.Version}}' "$mod")
  # tools.go only names the pinned packages; a tool's own main (tools/s3) is part of what is built.
  own=$(find "$moddir" -maxdepth 1 -name '*.go' ! -name tools.go | sort)
  sum=$(cat "$moddir/go.mod" "$moddir/go.sum" $own | sha256sum | cut -c1-16)
  stamp="$mod@$version $goversion mod:$sum"
  [ -n "$static" ] && stamp="$stamp static"
  if [ -x "$bin/$name" ] && [ -f "$bin/$name.stamp" ] && [ "$(cat "$bin/$name.stamp")" = "$stamp" ]; then
    echo "tools: $name $version is built ($bin/$name)"
    continue
  fi
  stamps[$name]=$stamp versions[$name]=$version pkgs[$name]=$pkg
  [ -z "${pending[$dir]:-}" ] && dirs+=("$dir")
  pending[$dir]="${pending[$dir]:-} $name"
done

# Pass 2: one `go build` per module directory with stale tools.
built=0
for dir in "${dirs[@]}"; do
  read -r -a group <<<"${pending[$dir]}"
  first=${group[0]}
  flags=(-trimpath)
  cgo=()
  if [ -n "$static" ]; then
    case $first in
      dex) flags+=(-tags netgo,osusergo,sqlite_omit_load_extension -ldflags '-linkmode external -extldflags -static')
        cgo=(CGO_ENABLED=1) ;;
      *) flags+=(-tags netgo,osusergo); cgo=(CGO_ENABLED=0) ;;
    esac
  fi
  list=() what=()
  for name in "${group[@]}"; do
    rm -f "$bin/$name.stamp"
    list+=("${pkgs[$name]}")
    what+=("$name ${versions[$name]}")
  done
  echo "tools: building $(IFS=,; echo "${what[*]}" | sed 's/,/, /g') (tools/$dir) ..."
  start=$(date +%s)
  out="$bin/.build-$dir"
  rm -rf "$out"
  mkdir -p "$out"
  (cd "$root/tools/$dir" && env "${cgo[@]}" $go build "${flags[@]}" -o "$out/" "${list[@]}")
  for name in "${group[@]}"; do
    mv -f "$out/$(outname "${pkgs[$name]}")" "$bin/$name"
    printf '%s\n' "${stamps[$name]}" >"$bin/$name.stamp"
    built=$((built + 1))
  done
  rm -rf "$out"
  echo "tools: built ${group[*]} in $(($(date +%s) - start))s"
done
echo "tools: $built built, the rest up to date, in $bin"
