#!/usr/bin/env bash
# Runs the image that `mvn -Pimage package` wrote, without a container engine, as a runtime
# would: its layers unpacked in order into a root file system, its entrypoint started there
# with the image's environment, working directory and user, with /proc, a minimal /dev and
# /etc/hosts provided, in a network namespace that has only a loopback interface (so nothing
# may be downloaded). Checks, in order:
#   1. the image's configuration: a non-root user, the volumes, DJL's cache in a volume, ports;
#   2. rollout --version prints the version the image is labelled with;
#   3. broker: prints its bootstrap line, /health on its metrics port answers 200, and it
#      keeps its data under the working directory (a volume); stops on SIGTERM;
#   4. env-service serve: /health answers 200; stops on SIGTERM;
#   5. the PyTorch engine: policy init-tiny writes a tiny model and policy logits runs it,
#      with the natives unpacked from the image into DJL's cache volume.
#
#   deploy/image/smoke.sh [IMAGE.tar]     (default: deploy/target/rollout-image.tar)
#
# Needs root (namespaces, chroot), tar, jq, curl and util-linux's unshare. SMOKE_KEEP=1 keeps
# the unpacked root file system and the logs (the path is printed).
set -euo pipefail

fail() { echo "smoke: FAILED: $*" >&2; exit 1; }

if [ -z "${ROLLOUT_SMOKE_NS:-}" ]; then
  image=$(realpath -e "${1:-deploy/target/rollout-image.tar}") \
    || fail "no image tarball ${1:-deploy/target/rollout-image.tar} (mvn -B -DskipTests -Pimage package)"
  [ "$(id -u)" = 0 ] || fail "needs root: it unpacks the image and runs it in namespaces"
  for tool in tar jq curl unshare ip; do
    command -v "$tool" >/dev/null || fail "needs $tool"
  done
  # Loopback-only network, own mounts, own process tree (all of it ends with this script).
  exec unshare --net --mount --pid --uts --fork --mount-proc \
    env ROLLOUT_SMOKE_NS=1 bash "$0" "$image"
fi

image=$1
started=$SECONDS
step() { echo "smoke: $* ($((SECONDS - started)) s)"; }
ip link set lo up
echo rollout-smoke > /proc/sys/kernel/hostname

work=$(mktemp -d /tmp/rollout-smoke.XXXXXX)
root=$work/rootfs
cleanup() {
  set +e
  for m in dev/shm dev proc sys; do
    mountpoint -q "$root/$m" && { umount -R "$root/$m" 2>/dev/null || umount -R -l "$root/$m"; }
  done
  if [ -n "${SMOKE_KEEP:-}" ]; then
    echo "smoke: kept $work"
  else
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT

# --- unpack -----------------------------------------------------------------------------
mkdir -p "$work/image" "$root"
tar -C "$work/image" -xf "$image"
manifest=$work/image/manifest.json
[ -f "$manifest" ] || fail "$image has no manifest.json (not a docker-archive tarball)"
config=$work/image/$(jq -r '.[0].Config' "$manifest")
while read -r layer; do
  tar -C "$root" --warning=no-unknown-keyword -xf "$work/image/$layer"
  # whiteouts: a file .wh.NAME deletes NAME of the layers below
  find "$root" -name '.wh.*' -print0 | while IFS= read -r -d '' wh; do
    name=$(basename "$wh"); rm -rf "$(dirname "$wh")/${name#.wh.}" "$wh"
  done
done < <(jq -r '.[0].Layers[]' "$manifest")
step "unpacked $(jq '.[0].Layers | length' "$manifest") layers of $(jq -r '.[0].RepoTags[0]' "$manifest")" \
  "($(du -sh "$image" | cut -f1) tarball, $(du -sh "$root" | cut -f1) unpacked)"

# --- 1. configuration -------------------------------------------------------------------
cfg() { jq -r "$1" "$config"; }
user=$(cfg '.config.User // ""')
uid=${user%%:*}; gid=${user#*:}; [ "$gid" != "$user" ] || gid=$uid
[[ "$uid" =~ ^[0-9]+$ ]] && [ "$uid" != 0 ] || fail "image user is '$user', not a numeric non-root uid"
[[ "$gid" =~ ^[0-9]+$ ]] || fail "image group in '$user' is not numeric"
workdir=$(cfg '.config.WorkingDir // "/"')
mapfile -t env < <(cfg '.config.Env // [] | .[]')
mapfile -t entrypoint < <(cfg '.config.Entrypoint // [] | .[]')
[ "${#entrypoint[@]}" -gt 0 ] || fail "image has no entrypoint"
version=$(cfg '.config.Labels["org.opencontainers.image.version"] // ""')
djl_cache=$(printf '%s\n' "${env[@]}" | sed -n 's/^DJL_CACHE_DIR=//p')
[ -n "$djl_cache" ] || fail "image does not set DJL_CACHE_DIR"
for volume in "$workdir" "$djl_cache"; do
  cfg '.config.Volumes // {} | keys[]' | grep -qx "$volume" || fail "$volume is not a volume of the image"
  [ "$(stat -c %a "$root$volume")" = 777 ] || fail "$volume is not writable by every user in the image"
done
for port in 8080 9092 9404 9405 9406 9407; do
  cfg '.config.ExposedPorts // {} | keys[]' | grep -qx "$port/tcp" || fail "port $port is not exposed"
done
step "configuration: user $user, working directory $workdir, DJL cache $djl_cache," \
  "volumes $(cfg '.config.Volumes | keys | join(" ")'), entrypoint ${entrypoint[*]}"

# --- what a runtime provides ------------------------------------------------------------
mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/etc"
mount -t proc proc "$root/proc"
mount -t sysfs -o ro sysfs "$root/sys" 2>/dev/null || mount --rbind -o ro /sys "$root/sys"
mount -t tmpfs -o mode=755,nosuid tmpfs "$root/dev"
for dev in null zero full random urandom tty; do
  touch "$root/dev/$dev"; mount --bind "/dev/$dev" "$root/dev/$dev"
done
mkdir -p "$root/dev/shm" && mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
ln -s /proc/self/fd "$root/dev/fd"
printf '127.0.0.1\tlocalhost rollout-smoke\n::1\tlocalhost\n' > "$root/etc/hosts"
: > "$root/etc/resolv.conf"

# the entrypoint, as the image's user, in its working directory, with the image's environment only
container=(env -i "${env[@]}" "$(command -v unshare)" --root="$root" --wd="$workdir" --setgid "$gid"
  --setuid "$uid" -- "${entrypoint[@]}")
run_image() { "${container[@]}" "$@"; }
start_image() { # NAME ARGS: in the background, output to NAME's log; $! is the JVM itself
  local name=$1; shift
  (exec "${container[@]}" "$@") > "$(log "$name")" 2>&1 &
}
log() { echo "$work/$1.log"; }
show() { echo "--- $1:" >&2; tail -n 40 "$(log "$1")" >&2; }
wait_for() { # NAME PID REGEX SECONDS: until the log of NAME has a line matching REGEX
  local name=$1 pid=$2 regex=$3 deadline=$((SECONDS + $4))
  until grep -qE "$regex" "$(log "$name")"; do
    kill -0 "$pid" 2>/dev/null || { show "$name"; fail "$name exited before printing /$regex/"; }
    [ "$SECONDS" -lt "$deadline" ] || { show "$name"; fail "$name printed no /$regex/ within $4 s"; }
    sleep 0.2
  done
  grep -m1 -E "$regex" "$(log "$name")"
}
health() { # NAME PID URL: until URL answers 200
  local deadline=$((SECONDS + 60))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$3" || true)" = 200 ]; do
    kill -0 "$2" 2>/dev/null || { show "$1"; fail "$1 exited before $3 answered 200"; }
    [ "$SECONDS" -lt "$deadline" ] || { show "$1"; fail "$3 did not answer 200 within 60 s"; }
    sleep 0.5
  done
}
stop() { # NAME PID: SIGTERM, and the JVM must end within 60 s
  kill -TERM "$2"
  local deadline=$((SECONDS + 60))
  while kill -0 "$2" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || { show "$1"; fail "$1 still runs 60 s after SIGTERM"; }
    sleep 0.2
  done
  wait "$2" 2>/dev/null || true
  # this process namespace holds only what the smoke test started
  ! pgrep -x java >/dev/null || { show "$1"; fail "a JVM still runs after $1 stopped: $(pgrep -a -x java)"; }
}

# --- 2. version --------------------------------------------------------------------------
run_image --version > "$(log version)" 2>&1 || { show version; fail "rollout --version exited non-zero"; }
grep -qx "rollout $version" "$(log version)" \
  || { show version; fail "rollout --version does not print 'rollout $version'"; }
step "rollout --version: $(cat "$(log version)")"

# --- 3. broker ---------------------------------------------------------------------------
start_image broker broker --port 0 --metrics-port 0
broker=$!
metrics=$(wait_for broker $broker '^metrics=' 120); metrics=${metrics#metrics=}
bootstrap=$(wait_for broker $broker '^bootstrap=' 180)
health broker $broker "${metrics%/metrics}/health"
[ -d "$root$workdir/data/broker" ] || fail "the broker keeps no data under $workdir/data/broker"
[ "$(stat -c %u "$root$workdir/data/broker")" = "$uid" ] || fail "the broker did not run as uid $uid"
stop broker $broker
step "broker: $bootstrap, ${metrics%/metrics}/health 200, data in $workdir/data/broker, stopped"

# --- 4. env-service ----------------------------------------------------------------------
start_image env-service env-service serve --port 0
envsvc=$!
url=$(wait_for env-service $envsvc '^listening=' 120); url=${url#listening=}
health env-service $envsvc "$url/health"
stop env-service $envsvc
step "env-service serve: $url/health 200, stopped"

# --- 5. PyTorch engine, offline -----------------------------------------------------------
run_image policy init-tiny --out "$workdir/tiny" > "$(log init-tiny)" 2>&1 \
  || { show init-tiny; fail "policy init-tiny failed"; }
run_image policy logits --model "$workdir/tiny" --tokens 1,2,3 > "$(log logits)" 2>&1 \
  || { show logits; fail "policy logits failed"; }
grep -q '^{"logits":\[\[' "$(log logits)" || { show logits; fail "policy logits printed no logits"; }
natives=$(find "$root$djl_cache" -name 'libtorch_cpu.so' | head -1)
[ -n "$natives" ] || fail "no libtorch_cpu.so under $djl_cache: where did the engine come from?"
step "PyTorch engine: $(cat "$(log init-tiny)"), logits for 3 tokens, natives in ${natives#"$root"}"

step "ok: the image runs with no network"
