#!/usr/bin/env bash
# The factory against llama.cpp's own llama-server, on the same GGUF model, machine and settings.
#
#   bench/compare-llama-server.sh --model-file FILE.gguf [--workload W0|W1|W2|W3|W4] [--parallel 4] [--ctx 4096]
#       [--threads 2] [--batch 2048] [--ubatch 512] [--prefix-cache 0] [--step-tokens auto] [--cache-reuse N] [--rate R] [--nice N]
#       [--out DIR] [-- factory bench options...]
#
# 1. Builds llama-server once from the llama.cpp source the factory's natives were built from (the cache's src/,
#    see ./factory natives), with cmake, into a cache folder outside the repository. Only the server and its own
#    libraries are compiled: at run time it loads the very libllama, libggml and libggml-cpu-* files the factory
#    loads (the prebuilt ones of the npm package), so both run the same CPU kernels, and the script checks that
#    the running server has those files mapped.
# 2. Starts a factory with a throwaway home and deploys the model (--parallel, --ctx per sequence, --threads, and
#    --prefix-cache N: sequences beyond the slots that keep evicted slots' prompts, each with a slot's KV memory;
#    --step-tokens auto|N: the step budget, auto by default);
#    starts llama-server on the same file with the same slots (-np), the same context per slot (-c is the total:
#    parallel × ctx), the same threads for decoding and batches (-t, -tb), its own default batch sizes unless
#    --batch/--ubatch say otherwise (-b, -ub), a KV stream per slot (no --kv-unified: like the factory), and
#    --cache-reuse N when given (reuse of cached chunks by shifting the KV cache). Both listen on loopback only.
#    --nice N runs both servers at that niceness (e.g. -10 on a machine shared with other work; below 0 needs
#    root), the same for both.
# 3. Runs one `factory bench` comparison: both warm up, then each level runs on the factory and then on
#    llama-server, never both at once; the bandwidth probe runs first (--bandwidth-threads = --threads). Results go
#    to --out (default bench-results/): compare.json, compare.md (the side-by-side table with ratios factory ÷
#    llama-server, each server's own table, the roofline, and at its end the setup: both servers' options and the
#    bench options), compare.png, and both servers' logs.
#
# --workload fills in the options of a serving workload; options given explicitly (before or after --) win:
#   W0  per-call overhead: chat, a fixed 20-word shared prefix + 1 word of its own, 16 output tokens, c = 1
#       (read TTFT p50)
#   W1  decode: 128-token prompts, 64 output tokens, c = 1,2,4,8 (read output tokens/s)
#   W2  mixed: 1,024-token distinct prompts, 128 output tokens, c = 4,8, --parallel 8 --ctx 2048 (read ITL p99);
#       with --rate R a second comparison runs open-loop Poisson arrivals at R requests/s (compare-poisson.*)
#   W3  shared prefix: a 1,024-token shared prefix + 32 tokens of its own, 64 output tokens, c = 4, --ctx 2048,
#       llama-server --cache-reuse 256 (read TTFT p50)
#   W4  sessions: 8 chats of 6 turns, 100 new tokens a turn, 64 output tokens, c = 8, --parallel 4 --ctx 3072,
#       the factory's --prefix-cache 4, llama-server --cache-reuse 256 (read TTFT p50 of turns 2+)
#
# Anything after -- goes to `factory bench`, e.g. -- --prompt-tokens 128 --output-tokens 64 --concurrency 1,2,4,8.
# Needs cmake, a C++17 compiler, ninja or make, and curl. Stops both servers on exit.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
# Empty until given; then the workload's presets, then the defaults, fill in what is still empty.
model_file="" workload="" parallel="" ctx="" threads="" batch="" ubatch="" prefix_cache="" step_tokens="" cache_reuse="" rate=""
niceness="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --model-file) model_file="$2"; shift 2 ;;
    --workload) workload="$2"; shift 2 ;;
    --parallel) parallel="$2"; shift 2 ;;
    --ctx) ctx="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --ubatch) ubatch="$2"; shift 2 ;;
    --prefix-cache) prefix_cache="$2"; shift 2 ;;
    --step-tokens) step_tokens="$2"; shift 2 ;;
    --cache-reuse) cache_reuse="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --nice) niceness="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h | --help) usage ;;
    --) shift; break ;;
    *) echo "compare-llama-server: unknown option $1" >&2; usage ;;
  esac
done
user_bench=("$@")

# A workload's presets: server settings (each only where not given) and factory bench options (each only where the
# options after -- do not name it).
preset_bench=() preset_parallel="" preset_ctx="" preset_prefix_cache="" preset_cache_reuse=""
case "$workload" in
  "") ;;
  W0) preset_bench=(--endpoint chat --shared-prefix-tokens 20 --prompt-tokens 1 --output-tokens 16 --concurrency 1
        --requests-per-level 32 --warmup 4) ;;
  W1) preset_bench=(--prompt-tokens 128 --output-tokens 64 --concurrency "1,2,4,8" --requests-per-level 16 --warmup 2) ;;
  W2) preset_bench=(--prompt-tokens 1024 --output-tokens 128 --concurrency "4,8" --requests-per-level 16 --warmup 2)
      preset_parallel=8 preset_ctx=2048 ;;
  W3) preset_bench=(--shared-prefix-tokens 1024 --prompt-tokens 32 --output-tokens 64 --concurrency 4
        --requests-per-level 16 --warmup 2)
      preset_ctx=2048 preset_cache_reuse=256 ;;
  W4) preset_bench=(--endpoint chat --prompt-tokens 100 --turns 6 --turn-tokens 100 --output-tokens 64 --concurrency 8
        --requests-per-level 8 --warmup 1)
      preset_parallel=4 preset_ctx=3072 preset_prefix_cache=4 preset_cache_reuse=256 ;;
  *) echo "compare-llama-server: --workload takes W0, W1, W2, W3 or W4, not $workload" >&2; exit 2 ;;
esac
parallel="${parallel:-${preset_parallel:-4}}"
ctx="${ctx:-${preset_ctx:-4096}}"
prefix_cache="${prefix_cache:-${preset_prefix_cache:-0}}"
step_tokens="${step_tokens:-auto}"
cache_reuse="${cache_reuse:-${preset_cache_reuse:-0}}"
threads="${threads:-2}" batch="${batch:-2048}" ubatch="${ubatch:-512}" niceness="${niceness:-0}"
out="${out:-bench-results}"
if [ -n "$rate" ] && [ "$workload" != W2 ]; then
  echo "compare-llama-server: --rate runs W2's open-loop comparison; give it with --workload W2" >&2; exit 2
fi
# shellcheck source=bench/common.sh
. "$root/bench/common.sh"
merge_bench_options

[ -n "$model_file" ] || { echo "compare-llama-server: --model-file FILE.gguf is required" >&2; usage; }
[ -f "$model_file" ] || { echo "compare-llama-server: no such file: $model_file" >&2; exit 1; }
for n in "$parallel" "$ctx" "$threads" "$batch" "$ubatch"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "compare-llama-server: not a positive number: $n" >&2; exit 2; }
done
[[ "$step_tokens" =~ ^(auto|[1-9][0-9]*)$ ]] \
  || { echo "compare-llama-server: --step-tokens takes auto or a number: $step_tokens" >&2; exit 2; }
[[ "$prefix_cache" =~ ^[0-9]+$ ]] \
  || { echo "compare-llama-server: --prefix-cache takes a number: $prefix_cache" >&2; exit 2; }
[[ "$cache_reuse" =~ ^[0-9]+$ ]] || { echo "compare-llama-server: --cache-reuse takes a number: $cache_reuse" >&2; exit 2; }
[ -z "$rate" ] || [[ "$rate" =~ ^[0-9]*\.?[0-9]+$ ]] \
  || { echo "compare-llama-server: --rate takes requests per second: $rate" >&2; exit 2; }
[[ "$niceness" =~ ^-?[0-9]+$ ]] || { echo "compare-llama-server: --nice takes a number: $niceness" >&2; exit 2; }
for tool in cmake curl; do
  command -v "$tool" >/dev/null || { echo "compare-llama-server: needs $tool" >&2; exit 1; }
done
model_file="$(cd "$(dirname "$model_file")" && pwd)/$(basename "$model_file")"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

log() { echo "compare-llama-server: $*" >&2; }

# ---- llama-server, built once from the natives' own source ----

llama_tools_init
lib="$llama_lib" bin="$llama_bin"
llama_tool llama-server

# ---- the two servers ----

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

factory_start "$home" "$niceness" "$out/factory.log"
fctl models import "$model_file" --name bench/model >/dev/null
fctl deploy bench/model --parallel "$parallel" --prefix-cache "$prefix_cache" --step-tokens "$step_tokens" \
  --ctx "$ctx" --threads "$threads" \
  >/dev/null

server_port="$(free_port)"
server_args=(-m "$model_file" --host 127.0.0.1 --port "$server_port" -np "$parallel" -c $((parallel * ctx))
  -t "$threads" -tb "$threads" -b "$batch" -ub "$ubatch" --no-kv-unified)
[ "$cache_reuse" -eq 0 ] || server_args+=(--cache-reuse "$cache_reuse")
log "starting llama-server on 127.0.0.1:$server_port: ${server_args[*]}"
(cd "$bin" && exec nice -n "$niceness" env LD_LIBRARY_PATH="$bin" ./llama-server "${server_args[@]}") >"$out/llama-server.log" 2>&1 &
server_pid=$!
wait_http "http://127.0.0.1:$server_port/health" 300 "$server_pid" || { log "llama-server did not start, see $out/llama-server.log"; exit 1; }
# The same kernels: the running server must have the prebuilt natives' files mapped, not libraries of its own.
server_natives="$(llama_check_natives "$server_pid")"
{
  echo "workload: ${workload:-none (the options given)}"
  echo "llama-server: ${server_args[*]}"
  echo "llama-server natives: $server_natives"
  echo "factory: --parallel $parallel --prefix-cache $prefix_cache --step-tokens $step_tokens --ctx $ctx --threads $threads; natives $lib"
  echo "niceness of both servers: $niceness"
  grep -m1 -o "n_slots = .*" "$out/llama-server.log" || true
} >"$out/setup.txt"

compare() { # NAME, then more factory bench options: one comparison into NAME.json, NAME.md and NAME.png
  local name="$1"
  shift
  log "running the comparison $name (results in $out)..."
  "$root/factory" bench --url "http://127.0.0.1:$factory_port/v1" --key "$(cat "$home/admin.key")" --model bench/model \
    --name factory --peer-url "http://127.0.0.1:$server_port/v1" --peer-name llama-server \
    --model-file "$model_file" --bandwidth-threads "$threads" \
    --json "$out/$name.json" --markdown "$out/$name.md" --chart "$out/$name.png" "$@"
  {
    printf '\n## Setup\n\n```\n'
    cat "$out/setup.txt"
    echo "factory bench: $*"
    printf '```\n'
  } >>"$out/$name.md"
}

compare compare ${bench_args[@]+"${bench_args[@]}"}
if [ -n "$rate" ]; then
  # Other prompts than the closed comparison's (unless --seed was given): both servers' caches still hold those, and
  # llama-server's host-memory prompt cache holds every one of them.
  seed=(--seed 2)
  given --seed && seed=()
  compare compare-poisson ${bench_args[@]+"${bench_args[@]}"} ${seed[@]+"${seed[@]}"} --arrival poisson --rate "$rate"
elif [ "$workload" = W2 ]; then
  log "W2's open-loop comparison needs --rate R (requests per second); it did not run"
fi
