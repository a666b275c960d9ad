#!/usr/bin/env bash
# Server-side HTTP step capacity with an external load generator (wrk, Debian package
# 'wrk'): opens 16 Sokoban sessions on a running env-service and steps them round-robin
# over 16 connections with an action text that is never valid, so episodes never end.
# Usage: env-service/bench/wrk-steps.sh [URL=http://127.0.0.1:8080] [SECONDS=20]
set -euo pipefail
url=${1:-http://127.0.0.1:8080}
seconds=${2:-20}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
script=$(mktemp --suffix=.lua)
trap 'rm -f "$script"' EXIT
ids=()
for i in $(seq 1 16); do
  ids+=("$(curl -sf -X POST "$url/v1/sessions" -H 'Content-Type: application/json' \
    -d "{\"env\":\"sokoban\",\"seed\":$i,\"config\":{\"max_steps\":200}}" | sed -E 's/.*"session":"([0-9a-f]+)".*/\1/')")
done
{
  printf 'local ids = {'; printf '"%s",' "${ids[@]}"; printf '}\n'
  cat <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/sessions/" .. ids[(n % #ids) + 1] .. "/step",
    {["Content-Type"] = "application/json"}, '{"action":"wait"}')
end
LUA
} > "$script"
wrk -t1 -c16 -d5s -s "$script" "$url" >/dev/null   # warm-up
wrk -t1 -c16 -d"${seconds}s" --latency -s "$script" "$url"
for id in "${ids[@]}"; do curl -sf -X DELETE "$url/v1/sessions/$id" >/dev/null; done
