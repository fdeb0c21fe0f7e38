#!/usr/bin/env bash
# What a worker hop costs: a control plane (--role control) serving a model through one worker, against an
# all-in-one factory serving the same model itself, both on the same PostgreSQL server, with the same deployment.
#
#   bench/gateway-hop.sh --model-file FILE.gguf [--parallel 2] [--ctx 512] [--threads 1] [--nice N]
#       [--pg-host 127.0.0.1] [--pg-port 5432] [--pg-user postgres] [--out DIR] [-- factory bench options...]
#
# 1. Makes two scratch databases on the PostgreSQL server (psql; PGPASSWORD if it needs one), dropped at exit.
# 2. Starts a control plane (`factory up --role control --cluster-port P`) with a throwaway home, a join token for
#    one worker, and `factory worker --join` on loopback with a home of its own; starts an all-in-one factory.
#    Each deploys the model with --parallel, --ctx and --threads (the control plane's replica runs on the worker).
# 3. Runs one `factory bench` comparison, level by level in turn: "via control" against "all-in-one". The default
#    options measure the per-call cost: chat, 32 prompt tokens, 16 output tokens, c = 1 and 2, 32 requests a level,
#    3 rounds. The hop's cost is the difference of TTFT p50 (and of ITL); read it from compare.md in --out (default
#    bench-results/gateway-hop/), with the setup at its end.
#
# A tiny model (the test model of ../shared/models) keeps the engine's own time small, so the hop's shows. Every
# process runs on this machine: on a machine with few cores the control plane, the worker, the all-in-one factory,
# PostgreSQL and the load generator share them, which the hop's cost includes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
model_file="" parallel=2 ctx=512 threads=1 niceness=0 out="bench-results/gateway-hop"
pg_host=127.0.0.1 pg_port=5432 pg_user=postgres
while [ $# -gt 0 ]; do
  case "$1" in
    --model-file) model_file="$2"; shift 2 ;;
    --parallel) parallel="$2"; shift 2 ;;
    --ctx) ctx="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --nice) niceness="$2"; shift 2 ;;
    --pg-host) pg_host="$2"; shift 2 ;;
    --pg-port) pg_port="$2"; shift 2 ;;
    --pg-user) pg_user="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h | --help) usage ;;
    --) shift; break ;;
    *) echo "gateway-hop: unknown option $1" >&2; usage ;;
  esac
done
user_bench=("$@")
[ -n "$model_file" ] && [ -f "$model_file" ] || { echo "gateway-hop: --model-file names no file: $model_file" >&2; exit 2; }
for n in "$parallel" "$ctx" "$threads"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "gateway-hop: --parallel, --ctx and --threads take positive numbers" >&2; exit 2; }
done
[[ "$niceness" =~ ^-?[0-9]+$ ]] || { echo "gateway-hop: --nice takes a number: $niceness" >&2; exit 2; }
for tool in curl psql; do
  command -v "$tool" >/dev/null || { echo "gateway-hop: needs $tool" >&2; exit 1; }
done
model_file="$(cd "$(dirname "$model_file")" && pwd)/$(basename "$model_file")"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

log() { echo "gateway-hop: $*" >&2; }
# shellcheck source=bench/common.sh
. "$root/bench/common.sh"

work="$(mktemp -d)"
databases=("factory_hop_$$_control" "factory_hop_$$_aio")
pids=()
pg() { psql -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -v ON_ERROR_STOP=1 -qc "$1" >/dev/null; }
cleanup() {
  local status=$? pid db
  for pid in ${pids[@]+"${pids[@]}"}; do kill "$pid" 2>/dev/null || true; done
  for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
  # WITH (FORCE), PostgreSQL 13 and later: a connection left by a process that did not stop does not keep it.
  for db in "${databases[@]}"; do pg "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true; done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
for db in "${databases[@]}"; do pg "CREATE DATABASE $db"; done
jdbc() { echo "jdbc:postgresql://$pg_host:$pg_port/$1?user=$pg_user"; }
db_env=()
[ -z "${PGPASSWORD:-}" ] || db_env=(FACTORY_DB_PASSWORD="$PGPASSWORD")

# ---- the control plane and its worker ----

cluster_port="$(free_port)"
factory_pid=""
factory_start "$work/control" "$niceness" "$out/control.log" FACTORY_DB_URL="$(jdbc "${databases[0]}")" \
  FACTORY_CLUSTER_PORT="$cluster_port" FACTORY_CLUSTER_ROLE=control ${db_env[@]+"${db_env[@]}"} \
  || { pids+=("$factory_pid"); exit 1; }
pids+=("$factory_pid")
control_port="$factory_port" control_home="$factory_home"
token="$(fctl nodes token create --uses 1 --expires 1h | grep -o 'fjt_[A-Za-z0-9_-]*' | head -1 || true)"
[ -n "$token" ] || { log "the control plane made no join token"; exit 1; }
log "starting a worker that joins http://127.0.0.1:$control_port..."
nice -n "$niceness" "$root/factory" worker --join "http://127.0.0.1:$control_port" --token "$token" --name w1 \
  --home "$work/w1" --serve-host 127.0.0.1 --threads "$threads" >"$out/worker.log" 2>&1 &
pids+=("$!")
deadline=$((SECONDS + 120))
until grep -q "serves replicas on port" "$out/worker.log"; do
  kill -0 "${pids[-1]}" 2>/dev/null || { log "the worker ended, see $out/worker.log"; exit 1; }
  [ "$SECONDS" -lt "$deadline" ] || { log "the worker did not join, see $out/worker.log"; exit 1; }
  sleep 1
done
fctl models import "$model_file" --name bench/model >/dev/null
fctl deploy bench/model --parallel "$parallel" --ctx "$ctx" --threads "$threads" >/dev/null

# ---- the all-in-one factory ----

factory_start "$work/aio" "$niceness" "$out/all-in-one.log" FACTORY_DB_URL="$(jdbc "${databases[1]}")" \
  ${db_env[@]+"${db_env[@]}"} || { pids+=("$factory_pid"); exit 1; }
pids+=("$factory_pid")
fctl models import "$model_file" --name bench/model >/dev/null
fctl deploy bench/model --parallel "$parallel" --ctx "$ctx" --threads "$threads" >/dev/null

# ---- the comparison ----

preset_bench=(--endpoint chat --prompt-tokens 32 --output-tokens 16 --concurrency 1,2 --requests-per-level 32
  --rounds 3 --warmup 4)
merge_bench_options
{
  echo "control plane: factory up --role control --cluster-port $cluster_port, PostgreSQL $pg_host:$pg_port"
  echo "worker: factory worker --threads $threads, on loopback"
  echo "both: factory deploy --parallel $parallel --ctx $ctx --threads $threads; niceness $niceness"
  echo "model: $model_file"
  echo "factory bench: ${bench_args[*]}"
} >"$out/setup.txt"
log "running the comparison (results in $out)..."
"$root/factory" bench --url "http://127.0.0.1:$control_port/v1" --key "$(cat "$control_home/admin.key")" \
  --model bench/model --name "via control" --peer-url "http://127.0.0.1:$factory_port/v1" \
  --peer-key "$(cat "$factory_home/admin.key")" --peer-model bench/model --peer-name all-in-one \
  --model-file "$model_file" --json "$out/compare.json" --markdown "$out/compare.md" --chart "$out/compare.png" \
  "${bench_args[@]}"
{
  printf '\n## Setup\n\n```\n'
  cat "$out/setup.txt"
  printf '```\n'
} >>"$out/compare.md"
