#!/usr/bin/env bash
# Regenerates the files of deploy/k8s/base that are made from other sources; KubernetesManifestsTest
# fails when they differ:
#   base/topics.yaml           from the topic catalog: rollout topics --strimzi (needs deploy/target/rollout.jar)
#   base/prometheus-rule.yaml  from deploy/monitoring/rules.yml
set -euo pipefail
k8s="$(cd "$(dirname "$0")" && pwd)"
deploy="$(dirname "$k8s")"
java -cp "$deploy/target/rollout.jar" io.rollout.deploy.RolloutCommand \
  topics --strimzi --cluster rollout --replication-factor 3 > "$k8s/base/topics.yaml"
{
  cat <<'HEAD'
# Generated from deploy/monitoring/rules.yml by deploy/k8s/generate.sh; do not edit by hand.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: rollout
  labels:
    app.kubernetes.io/part-of: rollout
spec:
HEAD
  # rules.yml's groups, indented under spec (the file's header comment left out).
  sed -n '/^groups:/,$p' "$deploy/monitoring/rules.yml" | sed -e 's/^/  /' -e 's/^ *$//'
} > "$k8s/base/prometheus-rule.yaml"
