#!/usr/bin/env bash
# Installs what the test suite needs. Idempotent and fast when everything is
# already there; called by scripts/test.sh, can also be run by hand.
#
#   - Debian packages: prometheus (+ promtool), prometheus-alertmanager, wrk,
#     nodejs + npm (scripts/check-deploy.sh's CRD validators), jsonnet (renders
#     the monitoring mixin, mixin/, for scripts/check-alerts.sh), python3-venv
#     (only installed when missing and we are root with apt-get; otherwise a
#     warning naming them).
#   - It cannot install the Rust toolchain (>= rust-version of Cargo.toml, with
#     rustfmt and clippy): it checks it and says what is missing.
#   Everything it could not install is listed again in its last lines.
#   - .venv/ (python3 -m venv) with a pinned moto[server] (the AWS mock used
#     by the end-to-end tests) and the other pinned Python packages below.
#
# Environment:
#   SETUP_SKIP_APT=1   never call apt-get
#   SETUP_SKIP_PIP=1   never call pip
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

log() { printf 'setup-test-env: %s\n' "$*" >&2; }

# What could not be installed, repeated at the end (one entry per item).
not_installed=()

# --- pinned Python packages (installed into .venv) ---------------------------
# moto 5.2.5: last checked version that installs and runs here; the [server]
# extra brings flask, flask-cors, werkzeug and the moto_server entry point.
MOTO_VERSION=5.2.5
# py-ocsf-models 0.10.0: the OCSF models Prowler builds its output with; the
# audit's OCSF records must load into its DetectionFinding. junitparser 5.0.3
# reads the audit's JUnit XML back.
OCSF_MODELS_VERSION=0.10.0
JUNITPARSER_VERSION=5.0.3
PIP_PACKAGES=(
  "moto[server]==${MOTO_VERSION}"
  "py-ocsf-models==${OCSF_MODELS_VERSION}"
  "junitparser==${JUNITPARSER_VERSION}"
)
# Import check that proves PIP_PACKAGES are installed (keep in sync).
PIP_CHECK="import moto, flask, flask_cors, werkzeug, boto3, py_ocsf_models, junitparser; from importlib.metadata import version; assert moto.__version__ == '${MOTO_VERSION}', moto.__version__; assert version('py-ocsf-models') == '${OCSF_MODELS_VERSION}'; assert version('junitparser') == '${JUNITPARSER_VERSION}'"

# --- Debian packages ---------------------------------------------------------
have() { command -v "$1" >/dev/null 2>&1; }

# Print the PIDs of processes whose command name is exactly $1 (no procps needed).
pids_named() {
  local d comm
  for d in /proc/[0-9]*; do
    comm=$(cat "$d/comm" 2>/dev/null) || continue
    [[ $comm == "$1" ]] && printf '%s\n' "${d#/proc/}"
  done
  return 0
}

SERVICE_NAMES=(prometheus prometheus-alert alertmanager prometheus-node)

apt_install() {
  local pkgs=("$@")
  if [[ ${SETUP_SKIP_APT:-0} == 1 ]]; then
    log "SETUP_SKIP_APT=1: not installing ${pkgs[*]}"
    not_installed+=("Debian packages ${pkgs[*]} (or their equivalents): SETUP_SKIP_APT=1")
    return 0
  fi
  if [[ $(id -u) != 0 ]] || ! have apt-get; then
    log "WARNING: missing ${pkgs[*]} and not root (or no apt-get): install them yourself;"
    log "         tests that need them fail (AWS_IAM_EXPORTER_SKIP_MISSING_TOOLS=1 skips them)"
    not_installed+=("Debian packages ${pkgs[*]} (or their equivalents): not root, or no apt-get")
    return 0
  fi
  log "installing Debian packages: ${pkgs[*]}"
  # Package maintainer scripts must not start services: use a policy-rc.d
  # that forbids it (unless one exists already, as in most containers).
  local created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  # Remember which daemons already ran, so that we only stop the ones the
  # installation may have started despite the policy.
  local before="" n
  for n in "${SERVICE_NAMES[@]}"; do before+=" $(pids_named "$n" | tr '\n' ' ')"; done

  local rc=0
  export DEBIAN_FRONTEND=noninteractive
  {
    apt-get update -qq &&
      apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${pkgs[@]}"
  } >/tmp/setup-test-env-apt.log 2>&1 || rc=$?

  [[ $created_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d

  local pid
  for n in "${SERVICE_NAMES[@]}"; do
    for pid in $(pids_named "$n"); do
      if [[ " $before " != *" $pid "* ]]; then
        log "stopping $n (pid $pid) started by the package installation"
        kill "$pid" 2>/dev/null || true
      fi
    done
  done

  if [[ $rc != 0 ]]; then
    tail -n 30 /tmp/setup-test-env-apt.log >&2 || true
    log "ERROR: apt-get failed (exit $rc), full log in /tmp/setup-test-env-apt.log"
    return "$rc"
  fi
}

missing=()
have prometheus || missing+=(prometheus)
have promtool || { [[ " ${missing[*]-} " == *" prometheus "* ]] || missing+=(prometheus); }
have prometheus-alertmanager || have alertmanager || missing+=(prometheus-alertmanager)
have wrk || missing+=(wrk)
# node and npm run the prometheus-operator CRD validators of scripts/check-deploy.sh.
have node || missing+=(nodejs)
have npm || missing+=(npm)
# jsonnet (and jsonnetfmt) render and lint the monitoring mixin (scripts/gen-mixin.py).
have jsonnet || missing+=(jsonnet)
if ((${#missing[@]})); then
  apt_install "${missing[@]}"
  # apt-get may succeed and still not provide a command (another name, a
  # distribution without the package): say so rather than fail later.
  still=()
  for cmd in prometheus promtool wrk node npm jsonnet; do have "$cmd" || still+=("$cmd"); done
  have prometheus-alertmanager || have alertmanager || still+=(alertmanager)
  if ((${#still[@]})) && [[ $(id -u) == 0 ]] && have apt-get && [[ ${SETUP_SKIP_APT:-0} != 1 ]]; then
    not_installed+=("${still[*]}: still not on PATH after apt-get install ${missing[*]}")
  fi
fi

# --- Python venv -------------------------------------------------------------
VENV=$ROOT/.venv
if [[ ! -x $VENV/bin/python ]]; then
  log "creating $VENV"
  if ! python3 -m venv "$VENV" 2>/tmp/setup-test-env-venv.log; then
    rm -rf "$VENV"
    if [[ $(id -u) == 0 ]] && have apt-get && [[ ${SETUP_SKIP_APT:-0} != 1 ]]; then
      log "python3 -m venv failed; installing python3-venv"
      apt_install python3-venv python3-pip
      /usr/bin/python3 -m venv "$VENV"
    else
      cat /tmp/setup-test-env-venv.log >&2
      log "ERROR: cannot create a venv: install python3 and python3-venv (Debian/Ubuntu), then rerun"
      exit 1
    fi
  fi
fi

if ! "$VENV/bin/python" -c "$PIP_CHECK" >/dev/null 2>&1 || [[ ! -x $VENV/bin/moto_server ]]; then
  if [[ ${SETUP_SKIP_PIP:-0} == 1 ]]; then
    log "SETUP_SKIP_PIP=1: not installing ${PIP_PACKAGES[*]}"
  else
    log "pip install ${PIP_PACKAGES[*]}"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"
    "$VENV/bin/python" -c "$PIP_CHECK"
  fi
fi

# --- Rust toolchain: checked, never installed -------------------------------
# rustup changes the user's environment; that is the user's call.
RUST_MIN=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml)
if ! have cargo || ! have rustc; then
  not_installed+=("the Rust toolchain (>= ${RUST_MIN:-see Cargo.toml}): install it with rustup (https://rustup.rs)")
else
  rust_version=$(rustc --version | awk '{print $2}')
  if [[ -n $RUST_MIN ]] && [[ $(printf '%s\n%s\n' "$RUST_MIN" "${rust_version%%-*}" | sort -V | head -n1) != "$RUST_MIN" ]]; then
    not_installed+=("Rust >= $RUST_MIN (found $rust_version): rustup update")
  fi
  cargo fmt --version >/dev/null 2>&1 || not_installed+=("rustfmt: rustup component add rustfmt")
  cargo clippy --version >/dev/null 2>&1 || not_installed+=("clippy: rustup component add clippy")
fi

if ((${#not_installed[@]})); then
  log "NOT INSTALLED (install these yourself; the tests and stages that need them fail):"
  for item in "${not_installed[@]}"; do log "  - $item"; done
fi

status=ok
((${#not_installed[@]})) && status="done, except the above"
log "$status (moto_server: $VENV/bin/moto_server; prometheus: $(command -v prometheus || echo missing);" \
  "alertmanager: $(command -v prometheus-alertmanager || command -v alertmanager || echo missing);" \
  "wrk: $(command -v wrk || echo missing); node: $(command -v node || echo missing);" \
  "npm: $(command -v npm || echo missing); jsonnet: $(command -v jsonnet || echo missing))"
