#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU and no network, in under five minutes, report what the
# machine has (driver, CUDA and cuDNN libraries anywhere on disk, Python packages included), use those
# libraries when they are the CUDA 13 / cuDNN 9 ones the provider needs, then run `rerank doctor` and
# bench/src/gpu-check.ts: the four families on cuda:0 in fp32 and fp16 against the CPU, the engine beside
# the runtime's limit on the GPU, and a 10,000-document job with the worker on cuda:0.
#
#   scripts/gpu-check.sh run [--device cuda:0] [--quick] [--out FILE]
#       on the GPU machine, in the repository root, with dist/, node_modules (the provider libraries at
#       least) and Node 24 in place: a clone after `npm ci && npm run setup:gpu`, or the bundle below.
#       `--device cpu` dry-runs every step on the CPU.
#   scripts/gpu-check.sh pack
#       here, with network, after `npm ci && npm run setup:gpu`: what `run` needs that git does not carry
#       (Node, dist/, the production node_modules with the two provider libraries but not the CUDA ones,
#       redis-server and its libraries), as .device/gpu-check/bundle.tar.xz.part-NN-of-MM, each under
#       60 MiB (a device call carries at most 64 MiB, the working tree's ~3 MB included).
#   scripts/gpu-check.sh receive
#       on the GPU machine, once per part: moves the parts carried so far to /var/tmp/rerank-gpu-check
#       (outside the tree: they stay while the machine is held); once all are there, checks the bundle's
#       sha256 (.device/gpu-check/bundle.sha256, carried with the last part) and unpacks it here.
#
# With this workplace's device tool: one call per part, back to back (a machine stays warm 30 s), the
# last one running the check too:
#   run(command="scripts/gpu-check.sh receive", carry=[".device/gpu-check/bundle.tar.xz.part-00-of-04"])
#   ...
#   run(command="scripts/gpu-check.sh receive && scripts/gpu-check.sh run --out $OUT/gpu-check.md",
#       carry=[".device/gpu-check/bundle.tar.xz.part-03-of-04", ".device/gpu-check/bundle.sha256"])
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
stage=.device/gpu-check
spool=/var/tmp/rerank-gpu-check
# The bundle's own Node and redis-server, first on PATH when present.
export PATH="$root/.cache/gpu-check/bin:$PATH"

say() { printf '[gpu-check] %s\n' "$*" >&2; }

# The CUDA 13 / cuDNN 9 libraries the provider loads (libs/engine/src/runtime/cuda-wheels.ts), by soname
# (NVRTC's builtins library is named for NVRTC's own minor version and found beside it).
needed_libraries() {
  node -e "const e = require('./dist/libs/engine/src'); console.log(e.GPU_LIBRARIES.filter((f) => !e.PROVIDER_LIBRARIES.includes(f) && !f.startsWith('libnvrtc-builtins.')).join('\n'))"
}

report_machine() {
  say "this machine: $(uname -srm), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  if [ -r /proc/driver/nvidia/version ]; then say "driver: $(head -n 1 /proc/driver/nvidia/version)"; else say "driver: no /proc/driver/nvidia/version"; fi
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader >&2 || true
  else
    say "nvidia-smi: not on the PATH"
  fi
  say "the loader cache (ldconfig -p):"
  { /sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null || true; } | grep -E 'lib(cuda|cudart|cublas|cublasLt|cudnn|cufft|curand|nvrtc|nvJitLink)\.so' >&2 || say "  no CUDA library in it"
  say "CUDA and cuDNN libraries on disk (/usr, /opt, /lib, Python site-packages):"
  find /usr /opt /lib /root -xdev \( -name 'libcudart.so.*' -o -name 'libcublasLt.so.*' -o -name 'libcudnn.so.*' -o -name 'libcufft.so.*' \
    -o -name 'libcurand.so.*' -o -name 'libnvrtc.so.*' -o -name 'libnvJitLink.so.*' -o -name 'libcuda.so.*' \) 2>/dev/null | sort >&2 || true
  if command -v python3 >/dev/null 2>&1; then
    say "Python packages: $(python3 -m pip list 2>/dev/null | grep -iE '^(nvidia-|onnxruntime|torch )' | tr -s ' ' | tr '\n' ';' || true)"
  fi
}

# Puts the machine's own CUDA 13 / cuDNN 9 libraries on LD_LIBRARY_PATH when onnxruntime-node's folder
# lacks them (the bundle carries only the provider): the same sonames are the compatible ones.
use_machine_libraries() {
  local folder missing=() dirs=() lib found dir
  folder="$(node -p "require('./dist/libs/engine/src').onnxruntimeFolder().folder")"
  while read -r lib; do
    [ -e "$folder/$lib" ] || missing+=("$lib")
  done < <(needed_libraries)
  if [ ${#missing[@]} -eq 0 ]; then
    say "the CUDA libraries of npm run setup:gpu are beside the provider: using those"
    return
  fi
  for lib in "${missing[@]}"; do
    found="$(find /usr /opt /lib /root -xdev -name "$lib" 2>/dev/null | sort | head -n 1 || true)"
    if [ -z "$found" ]; then
      say "no $lib on this machine: the provider cannot run here without it (npm run setup:gpu installs it where there is network)"
      continue
    fi
    dir="$(dirname "$found")"
    case " ${dirs[*]-} " in *" $dir "*) ;; *) dirs+=("$dir") ;; esac
  done
  if [ ${#dirs[@]} -gt 0 ]; then
    LD_LIBRARY_PATH="$(
      IFS=:
      echo "${dirs[*]}"
    )${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
    say "using this machine's CUDA libraries: LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  fi
}

run_check() {
  local start
  start=$(date +%s)
  report_machine
  if [ ! -f dist/bench/src/gpu-check.js ] || [ ! -d node_modules/onnxruntime-node ]; then
    say "dist/ or node_modules is missing: run npm ci && npm run setup:gpu here, or carry the bundle (scripts/gpu-check.sh pack, receive)"
    exit 1
  fi
  say "node $(node --version)"
  local device=cuda:0 args=("$@") i
  for ((i = 0; i < ${#args[@]}; i++)); do [ "${args[$i]}" = "--device" ] && device="${args[$((i + 1))]}"; done
  if [ "$device" != cpu ]; then
    use_machine_libraries
    node bin/rerank.js doctor >&2 || {
      say "rerank doctor found something missing (above): not running the check"
      exit 1
    }
  fi
  node dist/bench/src/gpu-check.js "$@"
  say "done in $(($(date +%s) - start)) s"
}

pack() {
  command -v xz >/dev/null || {
    say "xz is needed to pack"
    exit 1
  }
  node scripts/build-fingerprint.js --build-if-changed >&2
  local folder
  folder="$(node -p "require('./dist/libs/engine/src').onnxruntimeFolder().folder")"
  for lib in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
    [ -f "$folder/$lib" ] || {
      say "$folder/$lib is missing: run npm run setup:gpu first"
      exit 1
    }
  done
  rm -rf "$stage" .cache/gpu-check
  mkdir -p "$stage" .cache/gpu-check/bin .cache/gpu-check/redis
  cp "$(node -p process.execPath)" .cache/gpu-check/bin/node
  # redis-server with the libraries it links (the GPU machine may have none): a wrapper finds them.
  local redis lib
  redis="$(command -v redis-server)"
  cp "$redis" .cache/gpu-check/redis/redis-server
  ldd "$redis" | awk '/=> \// {print $3}' | grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' | while read -r lib; do cp "$lib" .cache/gpu-check/redis/; done
  printf '#!/bin/sh\nd="$(dirname "$(readlink -f "$0")")/../redis"\nLD_LIBRARY_PATH="$d" exec "$d/redis-server" "$@"\n' >.cache/gpu-check/bin/redis-server
  chmod +x .cache/gpu-check/bin/redis-server
  # The production dependencies; of onnxruntime-node, this platform's binaries and the provider, not the CUDA libraries.
  local packages cuda_excludes=()
  packages="$(npm ls --omit=dev --parseable --all 2>/dev/null | sed "s|^$root/||" | grep '^node_modules/' | sort -u)"
  while read -r lib; do cuda_excludes+=(--exclude="${folder#"$root"/}/$lib"); done < <(needed_libraries)
  cuda_excludes+=(--exclude="${folder#"$root"/}/libnvrtc-builtins.so.*")
  say "packing Node $(node --version), dist/, $(echo "$packages" | wc -l) packages, the provider and redis-server (xz, a few minutes)"
  # shellcheck disable=SC2086
  tar -cf - "${cuda_excludes[@]}" --exclude='node_modules/onnxruntime-node/bin/napi-v6/win32' \
    --exclude='node_modules/onnxruntime-node/bin/napi-v6/darwin' --exclude='node_modules/onnxruntime-node/bin/napi-v6/linux/arm64' \
    dist bin package.json .cache/gpu-check $packages | xz -6 -T0 >"$stage/bundle.tar.xz"
  sha256sum "$stage/bundle.tar.xz" | cut -d' ' -f1 >"$stage/bundle.sha256"
  local size parts
  size=$(stat -c %s "$stage/bundle.tar.xz")
  parts=$(((size + 62914559) / 62914560))
  split -b 60M -d -a 2 "$stage/bundle.tar.xz" "$stage/bundle.tar.xz.part-"
  rm "$stage/bundle.tar.xz"
  for f in "$stage"/bundle.tar.xz.part-*; do mv "$f" "$f-of-$(printf '%02d' "$parts")"; done
  say "$((size / 1048576)) MiB in $parts parts:"
  ls -1 "$stage"/bundle.tar.xz.part-* >&2
}

receive() {
  mkdir -p "$spool"
  local f total
  for f in "$stage"/bundle.tar.xz.part-* "$stage"/bundle.sha256; do
    [ -e "$f" ] && cp "$f" "$spool/"
  done
  f="$(ls "$spool"/bundle.tar.xz.part-* 2>/dev/null | head -n 1)"
  [ -n "$f" ] || {
    say "no part carried yet"
    exit 1
  }
  total="${f##*-of-}"
  local have
  have=$(ls "$spool"/bundle.tar.xz.part-* | wc -l)
  if [ "$have" -lt "$((10#$total))" ] || [ ! -f "$spool/bundle.sha256" ]; then
    say "received $have of $((10#$total)) parts"
    return
  fi
  if [ "$(cat "$spool"/bundle.tar.xz.part-* | sha256sum | cut -d' ' -f1)" != "$(cat "$spool/bundle.sha256")" ]; then
    say "the parts do not make the bundle (sha256 differs): carry them again"
    exit 1
  fi
  cat "$spool"/bundle.tar.xz.part-* | xz -d | tar -xf -
  say "unpacked the bundle ($have parts) into $root"
}

case "${1:-}" in
  run)
    shift
    run_check "$@"
    ;;
  pack) pack ;;
  receive) receive ;;
  *)
    echo "usage: scripts/gpu-check.sh run [--device cuda:0] [--quick] [--out FILE] | pack | receive" >&2
    exit 2
    ;;
esac
