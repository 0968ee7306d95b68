#!/bin/sh
# The default namespace and launchpad's search attributes (run by the temporal-namespace service
# of infra/docker-compose.yml in temporalio/admin-tools, which ships the `temporal` CLI).
# Idempotent. launchpad itself also registers the namespaces of launchpad_configs.yaml.
set -eu

ADDRESS=${TEMPORAL_ADDRESS:-temporal:7233}
NAMESPACE=${DEFAULT_NAMESPACE:-default}
RETENTION=${DEFAULT_NAMESPACE_RETENTION:-72h}

attempt=1
until temporal operator cluster health --address "$ADDRESS" >/dev/null 2>&1; do
  [ "$attempt" -ge 60 ] && { echo "Temporal at $ADDRESS did not become healthy" >&2; exit 1; }
  attempt=$((attempt + 1))
  sleep 2
done

if temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1; then
  echo "namespace $NAMESPACE exists"
else
  temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$ADDRESS"
  echo "namespace $NAMESPACE created"
fi

# the search attributes `launchpad dev` registers on its dev server (an existing one is kept)
for name in LaunchpadTask LaunchpadVersion; do
  temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type Keyword \
    --address "$ADDRESS" >/dev/null 2>&1 || echo "search attribute $name exists"
done
