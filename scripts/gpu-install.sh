#!/usr/bin/env bash
# `make gpu` / `npm run gpu:install`: installs onnxruntime-node's CUDA execution provider, on demand.
# onnxruntime-node loads it from its own native folder; this copies there the two provider libraries of
# the npm package com.github.asus4.onnxruntime.linux-x64-gpu (ONNX Runtime 1.29.0 built for CUDA 13 and
# cuDNN 9; see ../shared/gpu/README.md). ~180 MB to download, ~230 MB installed, so it is never part of
# `npm ci`, `make test` or CI; `npm ci` removes it again (run this once more after it).
# Idempotent: nothing is fetched when that version is already there; --force reinstalls.
#
# Env: PROOFGATE_GPU_PACKAGE  the npm package spec (default com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9)
#      PROOFGATE_GPU_TARBALL  a .tgz of that package already on disk, instead of `npm pack` from the registry
#      PROOFGATE_ORT_DIR      where to put the libraries (default onnxruntime-node's bin/napi-v6/linux/x64)
set -euo pipefail
cd "$(dirname "$0")/.."

PKG=${PROOFGATE_GPU_PACKAGE:-com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9}
ORT_VERSION=1.29.0 # the onnxruntime the provider package is built against
SRC=package/Plugins/Linux/x64
LIBS=(libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so)

die() {
  echo "gpu-install: $*" >&2
  exit 1
}

[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] || die "the CUDA provider package is for Linux x86_64 only, not $(uname -s)/$(uname -m)"
command -v node >/dev/null || die "node is not on PATH"
ort=$(node -p 'require.resolve("onnxruntime-node/package.json")' 2>/dev/null) || die "onnxruntime-node is not installed: run make install (npm ci) first"
have=$(node -p "require(process.argv[1]).version" "$ort")
[ "$have" = "$ORT_VERSION" ] || die "$PKG is built for onnxruntime $ORT_VERSION but onnxruntime-node is $have"
dest=${PROOFGATE_ORT_DIR:-$(dirname "$ort")/bin/napi-v6/linux/x64}
[ -d "$dest" ] || die "onnxruntime-node's native folder $dest does not exist"
stamp=$dest/.proofgate-cuda-provider

installed() {
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$PKG" ] && [ -s "$dest/${LIBS[0]}" ] && [ -s "$dest/${LIBS[1]}" ]
}
if [ "${1:-}" != --force ] && installed; then
  echo "gpu-install: the CUDA provider ($PKG) is already in $dest"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "${PROOFGATE_GPU_TARBALL:-}" ]; then
  tgz=$PROOFGATE_GPU_TARBALL
  [ -f "$tgz" ] || die "PROOFGATE_GPU_TARBALL: no file $tgz"
else
  command -v npm >/dev/null || die "npm is not on PATH"
  echo "gpu-install: fetching $PKG (~180 MB) with npm pack ..."
  if ! name=$(cd "$tmp" && npm pack "$PKG" --ignore-scripts --silent 2>"$tmp/npm.err"); then
    die "npm pack $PKG failed: $(grep -m1 -iE 'err|404|ETIMEDOUT|ENOTFOUND' "$tmp/npm.err" || tail -n1 "$tmp/npm.err")"
  fi
  tgz=$tmp/$(echo "$name" | tail -n1)
  [ -f "$tgz" ] || die "npm pack $PKG did not leave a tarball (got: $name)"
fi

mkdir -p "$tmp/x"
members=("${LIBS[@]/#/$SRC/}")
tar -xzf "$tgz" -C "$tmp/x" package/package.json "${members[@]}" 2>"$tmp/tar.err" ||
  die "$tgz is not the provider package: $(grep -m1 'Not found' "$tmp/tar.err" || head -n1 "$tmp/tar.err")"
got=$(node -p 'const p = require(process.argv[1]); p.name + "@" + p.version' "$tmp/x/package/package.json")
for lib in "${LIBS[@]}"; do
  [ -s "$tmp/x/$SRC/$lib" ] || die "$SRC/$lib is empty in $tgz"
  # copy beside, then rename: a process loading the provider never sees half a file
  cp "$tmp/x/$SRC/$lib" "$dest/.$lib.partial" && chmod 0755 "$dest/.$lib.partial" && mv -f "$dest/.$lib.partial" "$dest/$lib" ||
    die "cannot write $dest/$lib"
done
echo "$got" >"$stamp"
echo "gpu-install: installed the CUDA provider ($got) in $dest"
echo "gpu-install: PROOFGATE_DEVICE=auto (or cuda) now runs on the GPU where the CUDA 13 and cuDNN 9 libraries load, e.g. LD_LIBRARY_PATH=/usr/local/cuda/targets/x86_64-linux/lib:/usr/lib/x86_64-linux-gnu"
