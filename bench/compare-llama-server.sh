#!/usr/bin/env bash
# The factory against llama.cpp's own llama-server, on the same GGUF model, machine and settings.
#
#   bench/compare-llama-server.sh --model-file FILE.gguf [--parallel 4] [--ctx 4096] [--threads 2]
#       [--batch 2048] [--ubatch 512] [--nice N] [--out DIR] [-- factory bench options...]
#
# 1. Builds llama-server once from the llama.cpp source the factory's natives were built from (the cache's src/,
#    see ./factory natives), with cmake, into a cache folder outside the repository. Only the server and its own
#    libraries are compiled: at run time it loads the very libllama, libggml and libggml-cpu-* files the factory
#    loads (the prebuilt ones of the npm package), so both run the same CPU kernels, and the script checks that
#    the running server has those files mapped.
# 2. Starts a factory with a throwaway home and deploys the model (--parallel, --ctx per sequence, --threads);
#    starts llama-server on the same file with the same slots (-np), the same context per slot (-c is the total:
#    parallel × ctx), the same threads for decoding and batches (-t, -tb), its own default batch sizes unless
#    --batch/--ubatch say otherwise (-b, -ub), and a KV stream per slot (no --kv-unified: like the factory).
#    Both listen on loopback only. --nice N runs both servers at that niceness (e.g. -10 on a machine shared with
#    other work; below 0 needs root), the same for both.
# 3. Runs one `factory bench` comparison: both warm up, then each concurrency level runs on the factory and then on
#    llama-server, never both at once; the bandwidth probe runs first (--bandwidth-threads = --threads). Results go
#    to --out (default bench-results/): compare.json, compare.md (the side-by-side table with ratios factory ÷
#    llama-server, each server's own table, the roofline), compare.png, and both servers' logs.
#
# Anything after -- goes to `factory bench`, e.g. -- --prompt-tokens 128 --output-tokens 64 --concurrency 1,2,4,8.
# Needs cmake, a C++17 compiler, ninja or make, and curl. Stops both servers on exit.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model_file="" parallel=4 ctx=4096 threads=2 batch=2048 ubatch=512 niceness=0 out="bench-results"
usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --model-file) model_file="$2"; shift 2 ;;
    --parallel) parallel="$2"; shift 2 ;;
    --ctx) ctx="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --ubatch) ubatch="$2"; shift 2 ;;
    --nice) niceness="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h | --help) usage ;;
    --) shift; break ;;
    *) echo "compare-llama-server: unknown option $1" >&2; usage ;;
  esac
done
[ -n "$model_file" ] || { echo "compare-llama-server: --model-file FILE.gguf is required" >&2; usage; }
[ -f "$model_file" ] || { echo "compare-llama-server: no such file: $model_file" >&2; exit 1; }
for n in "$parallel" "$ctx" "$threads" "$batch" "$ubatch"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "compare-llama-server: not a positive number: $n" >&2; exit 2; }
done
[[ "$niceness" =~ ^-?[0-9]+$ ]] || { echo "compare-llama-server: --nice takes a number: $niceness" >&2; exit 2; }
for tool in cmake curl; do
  command -v "$tool" >/dev/null || { echo "compare-llama-server: needs $tool" >&2; exit 1; }
done
model_file="$(cd "$(dirname "$model_file")" && pwd)/$(basename "$model_file")"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

log() { echo "compare-llama-server: $*" >&2; }

# ---- llama-server, built once from the natives' own source ----

lib="$("$root/factory" natives)"                      # .../llama-VERSION/lib, fetched if needed
src="$(dirname "$lib")/src"
server_dir="$(dirname "$lib")-server"                # .../llama-VERSION-server, beside the natives
bin="$server_dir/bin"
if [ ! -x "$bin/llama-server" ]; then
  log "building llama-server from $src into $server_dir (once; several minutes)..."
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  # GGML_CPU=OFF: the CPU kernels are not built here; the prebuilt libggml-cpu-* variants are used instead.
  # GGML_BACKEND_DL=ON as in the prebuilt libggml, which finds its CPU backends beside the executable.
  cmake -S "$src" -B "$server_dir/build" ${generator[@]+"${generator[@]}"} -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF -DGGML_CPU=OFF -DCMAKE_SKIP_BUILD_RPATH=ON \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
    >"$server_dir.cmake.log" 2>&1 || { log "cmake failed, see $server_dir.cmake.log"; exit 1; }
  cmake --build "$server_dir/build" --target llama-server -j "$(nproc)" >>"$server_dir.cmake.log" 2>&1 \
    || { log "the build failed, see $server_dir.cmake.log"; exit 1; }
  rm -rf "$bin.tmp" && mkdir -p "$bin.tmp"
  cp "$server_dir/build/bin/llama-server" "$bin.tmp/"
  # The server's own libraries (common, mtmd, ...) as built; llama and ggml from the prebuilt natives, under the
  # names the server asks for.
  for f in "$server_dir"/build/bin/*.so*; do
    case "$(basename "$f")" in libllama.so* | libggml*) ;; *) cp -P "$f" "$bin.tmp/" ;; esac
  done
  for needed in $(cd "$bin.tmp" && LD_LIBRARY_PATH="$bin.tmp" ldd llama-server | awk '/not found/ {print $1}' | sort -u); do
    case "$needed" in
      libllama.so*) ln -s "$(ls "$lib"/libllama.v*.so "$lib"/libllama.so 2>/dev/null | head -n 1)" "$bin.tmp/$needed" ;;
      libggml-base.so*) ln -s "$lib/libggml-base.so" "$bin.tmp/$needed" ;;
      libggml.so*) ln -s "$(ls "$lib"/libggml.v*.so "$lib"/libggml.so 2>/dev/null | head -n 1)" "$bin.tmp/$needed" ;;
      *) log "llama-server needs $needed, which neither the build nor the natives have"; exit 1 ;;
    esac
  done
  for f in "$lib"/libggml-cpu-*.so; do ln -s "$f" "$bin.tmp/"; done
  (cd "$bin.tmp" && LD_LIBRARY_PATH="$bin.tmp" ./llama-server --version) >/dev/null 2>&1 \
    || { log "the built llama-server does not start against the natives"; exit 1; }
  mv -T "$bin.tmp" "$bin"
fi

# ---- the two servers ----

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() { # URL, seconds, pid: waits for a 200
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || return 1
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 1
  done
}

home="$(mktemp -d)"
factory_pid="" server_pid=""
cleanup() {
  local status=$?
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$factory_pid" ]; then kill "$factory_pid" 2>/dev/null; wait "$factory_pid" 2>/dev/null || true; fi
  rm -rf "$home"
  exit "$status"
}
trap cleanup EXIT

factory_port="$(free_port)"
log "starting the factory on 127.0.0.1:$factory_port..."
FACTORY_HOME="$home" nice -n "$niceness" "$root/factory" up --host 127.0.0.1 --port "$factory_port" >"$out/factory.log" 2>&1 &
factory_pid=$!
wait_http "http://127.0.0.1:$factory_port/health/ready" 300 "$factory_pid" || { log "the factory did not start, see $out/factory.log"; exit 1; }
fctl() { FACTORY_HOME="$home" "$root/factory" "$@" --url "http://127.0.0.1:$factory_port"; }
fctl models import "$model_file" --name bench/model >/dev/null
fctl deploy bench/model --parallel "$parallel" --ctx "$ctx" --threads "$threads" >/dev/null

server_port="$(free_port)"
server_args=(-m "$model_file" --host 127.0.0.1 --port "$server_port" -np "$parallel" -c $((parallel * ctx))
  -t "$threads" -tb "$threads" -b "$batch" -ub "$ubatch" --no-kv-unified)
log "starting llama-server on 127.0.0.1:$server_port: ${server_args[*]}"
(cd "$bin" && exec nice -n "$niceness" env LD_LIBRARY_PATH="$bin" ./llama-server "${server_args[@]}") >"$out/llama-server.log" 2>&1 &
server_pid=$!
wait_http "http://127.0.0.1:$server_port/health" 300 "$server_pid" || { log "llama-server did not start, see $out/llama-server.log"; exit 1; }
# The same kernels: the running server must have the prebuilt natives' files mapped, not libraries of its own.
for name in libllama libggml-base libggml-cpu; do
  grep -q "$lib/$name" "/proc/$server_pid/maps" \
    || { log "llama-server has no $name from $lib mapped; it would not run the factory's kernels"; exit 1; }
done
{
  echo "llama-server: ${server_args[*]}"
  echo "llama-server natives: $(grep -o "$lib/[^ ]*" "/proc/$server_pid/maps" | sort -u | xargs -n1 basename | tr '\n' ' ')"
  echo "factory: --parallel $parallel --ctx $ctx --threads $threads; natives $lib"
  echo "niceness of both servers: $niceness"
  grep -m1 -o "n_slots = .*" "$out/llama-server.log" || true
} >"$out/setup.txt"

log "running the comparison (results in $out)..."
"$root/factory" bench --url "http://127.0.0.1:$factory_port/v1" --key "$(cat "$home/admin.key")" --model bench/model \
  --name factory --peer-url "http://127.0.0.1:$server_port/v1" --peer-name llama-server \
  --model-file "$model_file" --bandwidth-threads "$threads" \
  --json "$out/compare.json" --markdown "$out/compare.md" --chart "$out/compare.png" "$@"
