#!/usr/bin/env bash
# Builds the real programs the local tier runs (Dex, oauth2-proxy, etcd, kube-apiserver, the KFP API server and
# the S3-compatible store it needs) from the pinned Go modules under tools/, into bin/tools/. Each tool is its own
# module so that Go's minimal version selection never mixes the programs' dependency graphs (each is built against
# the versions its own release was tested with).
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
tools=(
  "dex|dex|github.com/dexidp/dex/cmd/dex|github.com/dexidp/dex"
  "oauth2-proxy|oauth2-proxy|github.com/oauth2-proxy/oauth2-proxy/v7|github.com/oauth2-proxy/oauth2-proxy/v7"
  "etcd|etcd|go.etcd.io/etcd/server/v3|go.etcd.io/etcd/server/v3"
  "kube-apiserver|kube-apiserver|k8s.io/kubernetes/cmd/kube-apiserver|k8s.io/kubernetes"
  "kfp-apiserver|kfp-apiserver|github.com/kubeflow/pipelines/backend/src/apiserver|github.com/kubeflow/pipelines"
  "s3|s3|github.com/kfp-authcheck/kfp-authcheck/tools/s3|github.com/johannesboyne/gofakes3"
)

want=("$@")
selected() {
  [ ${#want[@]} -eq 0 ] && return 0
  local w
  for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}

if [ ${#want[@]} -gt 0 ]; then
  for w in "${want[@]}"; do
    case " dex oauth2-proxy etcd kube-apiserver kfp-apiserver s3 " in *" $w "*) ;;
      *) echo "tools: unknown tool $w (dex, oauth2-proxy, etcd, kube-apiserver, kfp-apiserver, s3)" >&2; exit 2 ;; esac
  done
fi

goversion=$($go env GOVERSION)
built=0
for entry in "${tools[@]}"; do
  IFS='|' read -r name dir pkg mod <<<"$entry"
  selected "$name" || continue
  moddir="$root/tools/$dir"
  version=$(cd "$moddir" && $go list -m -f '{{.Version}}' "$mod")
  # tools.go only names the pinned package; a tool's own main (tools/s3) is part of what is built.
  own=$(find "$moddir" -maxdepth 1 -name '*.go' ! -name tools.go | sort)
  sum=$(cat "$moddir/go.mod" "$moddir/go.sum" $own | sha256sum | cut -c1-16)
  stamp="$mod@$version $goversion mod:$sum"
  flags=(-trimpath)
  if [ -n "$static" ]; then
    stamp="$stamp static"
    case $name in
      dex) flags+=(-tags netgo,osusergo,sqlite_omit_load_extension -ldflags '-linkmode external -extldflags -static') ;;
      *) flags+=(-tags netgo,osusergo) ;;
    esac
  fi
  if [ -x "$bin/$name" ] && [ -f "$bin/$name.stamp" ] && [ "$(cat "$bin/$name.stamp")" = "$stamp" ]; then
    echo "tools: $name $version is built ($bin/$name)"
    continue
  fi
  echo "tools: building $name $version ($pkg) ..."
  start=$(date +%s)
  rm -f "$bin/$name.stamp"
  if [ -n "$static" ] && [ "$name" != dex ]; then
    (cd "$moddir" && CGO_ENABLED=0 $go build "${flags[@]}" -o "$bin/$name.tmp" "$pkg")
  elif [ -n "$static" ]; then
    (cd "$moddir" && CGO_ENABLED=1 $go build "${flags[@]}" -o "$bin/$name.tmp" "$pkg")
  else
    (cd "$moddir" && $go build "${flags[@]}" -o "$bin/$name.tmp" "$pkg")
  fi
  mv -f "$bin/$name.tmp" "$bin/$name"
  printf '%s\n' "$stamp" >"$bin/$name.stamp"
  echo "tools: built $name $version in $(($(date +%s) - start))s"
  built=$((built + 1))
done
echo "tools: $built built, the rest up to date, in $bin"
