# shellcheck shell=bash
# What the side-by-side benchmarks (bench/compare-*.sh) share: llama.cpp's own programs (llama-server,
# llama-finetune, ...) built against the factory's natives, and a factory started for the run. Sourced after `root`
# (the repository) and a `log` function are set.
#
# llama_tools_init: sets llama_lib (the natives the factory loads, fetched if needed), llama_src (the llama.cpp
#   source they were built from) and llama_bin (where the programs live: a cache folder beside the natives,
#   outside the repository).
# llama_tool TARGET: builds the program TARGET once into llama_bin (cmake, a few minutes). Only the program and
#   llama.cpp's common libraries are compiled: at run time it loads the very libllama, libggml and libggml-cpu-*
#   files the factory loads (the prebuilt ones of the npm package), so both run the same CPU kernels.
# llama_check_natives PID: fails unless process PID has libllama, libggml-base and a libggml-cpu-* of llama_lib
#   mapped (waiting up to 60 s for the CPU backend, which is loaded after start); prints the mapped natives' names.
# given OPTION: whether the factory bench options after -- (user_bench) name OPTION.
# merge_bench_options: sets bench_args to user_bench plus each pair of preset_bench (OPTION VALUE ...) whose option
#   user_bench does not name: options given explicitly win over a script's presets.
# free_port: a free TCP port on 127.0.0.1.
# wait_http URL SECONDS PID: waits for URL to answer 200 while process PID lives.
# factory_start HOME NICENESS LOG [ENV=VALUE...]: starts `factory up` on loopback with home HOME at that niceness,
#   its output to LOG, and waits until it is ready; sets factory_pid and factory_port. fctl ARGS... runs a factory
#   command against it.

llama_tools_init() {
  # shellcheck disable=SC2154 # root: set by the script that sources this file
  llama_lib="$("$root/factory" natives)"             # .../llama-VERSION/lib
  llama_src="$(dirname "$llama_lib")/src"
  llama_dir="$(dirname "$llama_lib")-server"          # .../llama-VERSION-server: one build folder for every program
  llama_bin="$llama_dir/bin"
}

llama_tool() {
  local target="$1" f needed staged
  [ -x "$llama_bin/$target" ] && return 0
  log "building $target from $llama_src into $llama_dir (once; several minutes)..."
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  # GGML_CPU=OFF: the CPU kernels are not built here; the prebuilt libggml-cpu-* variants are used instead.
  # GGML_BACKEND_DL=ON as in the prebuilt libggml, which finds its CPU backends beside the executable.
  # Tools and examples are configured (llama-server is a tool, llama-finetune an example); only the target asked
  # for is compiled.
  cmake -S "$llama_src" -B "$llama_dir/build" ${generator[@]+"${generator[@]}"} -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF -DGGML_CPU=OFF -DCMAKE_SKIP_BUILD_RPATH=ON \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
    >"$llama_dir.cmake.log" 2>&1 || { log "cmake failed, see $llama_dir.cmake.log"; return 1; }
  cmake --build "$llama_dir/build" --target "$target" -j "$(nproc)" >>"$llama_dir.cmake.log" 2>&1 \
    || { log "the build of $target failed, see $llama_dir.cmake.log"; return 1; }
  # Staged beside the folder, then moved in file by file (a rename, so a program already running from llama_bin
  # keeps the files it mapped), the program last: it is there only once everything it needs is.
  staged="$llama_dir/stage"
  rm -rf "$staged" && mkdir -p "$staged" "$llama_bin"
  cp "$llama_dir/build/bin/$target" "$staged/"
  # The program's own libraries (common, mtmd, ...) as built; llama and ggml from the prebuilt natives, under the
  # names the program asks for.
  for f in "$llama_dir"/build/bin/*.so*; do
    case "$(basename "$f")" in libllama.so* | libggml*) ;; *) cp -P "$f" "$staged/" ;; esac
  done
  for needed in $(cd "$staged" && LD_LIBRARY_PATH="$staged" ldd "$target" | awk '/not found/ {print $1}' | sort -u); do
    case "$needed" in
      libllama.so*) ln -s "$(first_file "$llama_lib"/libllama.v*.so "$llama_lib"/libllama.so)" "$staged/$needed" ;;
      libggml-base.so*) ln -s "$llama_lib/libggml-base.so" "$staged/$needed" ;;
      libggml.so*) ln -s "$(first_file "$llama_lib"/libggml.v*.so "$llama_lib"/libggml.so)" "$staged/$needed" ;;
      *) log "$target needs $needed, which neither the build nor the natives have"; return 1 ;;
    esac
  done
  for f in "$llama_lib"/libggml-cpu-*.so; do ln -s "$f" "$staged/"; done
  # It starts: the loader finds every library (a program that cannot start exits with 127), whatever --help answers.
  local started=0
  (cd "$staged" && LD_LIBRARY_PATH="$staged" "./$target" --help) >/dev/null 2>&1 || started=$?
  if [ "$started" -eq 127 ] || (cd "$staged" && LD_LIBRARY_PATH="$staged" ldd "$target") | grep -q "not found"; then
    log "the built $target does not start against the natives"
    return 1
  fi
  for f in "$staged"/*; do
    [ "$(basename "$f")" = "$target" ] || mv -f -T "$f" "$llama_bin/$(basename "$f")"
  done
  mv -f -T "$staged/$target" "$llama_bin/$target"
  rmdir "$staged"
}

first_file() { # the first of its arguments that exists
  local f
  for f in "$@"; do [ -e "$f" ] && { echo "$f"; return 0; }; done
  return 1
}

llama_check_natives() {
  local pid="$1" name deadline=$((SECONDS + 60))
  until grep -q "$llama_lib/libggml-cpu-" "/proc/$pid/maps" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { log "process $pid ended before its CPU backend was seen"; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { log "process $pid loaded no libggml-cpu-* from $llama_lib"; return 1; }
    sleep 0.1
  done
  for name in libllama libggml-base libggml-cpu; do
    grep -q "$llama_lib/$name" "/proc/$pid/maps" \
      || { log "process $pid has no $name from $llama_lib mapped; it would not run the factory's kernels"; return 1; }
  done
  grep -o "$llama_lib/[^ ]*" "/proc/$pid/maps" | sort -u | xargs -n1 basename | tr '\n' ' '
}

given() {
  local arg
  # shellcheck disable=SC2154 # user_bench: set by the script that sources this file
  for arg in ${user_bench[@]+"${user_bench[@]}"}; do
    if [ "$arg" = "$1" ] || [[ "$arg" == "$1="* ]]; then return 0; fi
  done
  return 1
}

merge_bench_options() {
  local i
  bench_args=(${user_bench[@]+"${user_bench[@]}"})
  for ((i = 0; i < ${#preset_bench[@]}; i += 2)); do
    given "${preset_bench[i]}" || bench_args+=("${preset_bench[i]}" "${preset_bench[i + 1]}")
  done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_http() {
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || return 1
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 1
  done
}

factory_start() {
  local home="$1" niceness="$2" output="$3"
  shift 3
  factory_port="$(free_port)"
  log "starting the factory on 127.0.0.1:$factory_port..."
  env FACTORY_HOME="$home" "$@" nice -n "$niceness" "$root/factory" up --host 127.0.0.1 --port "$factory_port" \
    >"$output" 2>&1 &
  factory_pid=$!
  factory_home="$home"
  wait_http "http://127.0.0.1:$factory_port/health/ready" 300 "$factory_pid" \
    || { log "the factory did not start, see $output"; return 1; }
}

fctl() { FACTORY_HOME="$factory_home" "$root/factory" "$@" --url "http://127.0.0.1:$factory_port"; }
