#!/usr/bin/env python3
"""Offline validation of the deployment files (called by scripts/check-deploy.sh).

Checks
  dockerfile   structure of the Dockerfile (stages, distroless nonroot runtime, labels,
               exec-form entrypoint, no HEALTHCHECK / shell at runtime, ARG/ENV wiring,
               ARG defaults in step with Cargo.toml) and that .dockerignore keeps out
               target/, .git, .venv but none of the cargo build inputs
  kustomize    every kustomization lists existing files and every manifest is listed;
               each kustomization is rendered with `kubectl kustomize` (built-in kustomize)
  kubernetes   every rendered core object is validated against the Kubernetes OpenAPI
               schemas bundled in the kubernetes-validate package (strict: unknown fields
               fail), for the oldest and the newest Kubernetes version we support
  crds         ServiceMonitor / PrometheusRule against strict JSON Schemas
               (deploy/validation/schemas); the full-CRD check runs in node
               (validate-crds.mjs), fed with the objects this script writes out
  semantics    security context, probes, IRSA token, resources, image tag == crate version,
               flags known to the binary, Service/ServiceMonitor/pod wiring, shard count ==
               replicas, pod-index downward API, config file mounted and valid, dashboards
  promtool     the PrometheusRule's groups, extracted, pass `promtool check rules`;
               deploy/prometheus/prometheus.yml passes `promtool check config`
  iam          policies parse, pass parliament (known actions, conditions), and grant
               exactly the AWS calls the exporter makes

Prints one line per check ("ok ..." / "FAIL ..."), exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NAME = "aws-iam-exporter"
PORT = 9741
UID = 65532
K8S_VERSIONS = ("1.28", None)  # oldest supported (pod-index label), newest bundled
KUSTOMIZATIONS = ("deploy/kubernetes", "deploy/kubernetes/sharded")

# The AWS calls of the contract: every watched account's (deploy/iam-policy.json) ...
IAM_ACTIONS = {
    "iam:GenerateCredentialReport",
    "iam:GetCredentialReport",
    "iam:GetAccountSummary",
    "iam:GetAccountPasswordPolicy",
    "iam:ListVirtualMFADevices",
    "iam:ListServiceSpecificCredentials",
    "iam:ListServerCertificates",
    "iam:ListPolicies",
    "iam:ListEntitiesForPolicy",
    "iam:GetGroup",
}
# ... and the hub's own (deploy/iam-policy-organizations.json): discovery, the member roles, and
# ListOrganizationsFeatures, asked with the exporter's own credentials only.
HUB_ACTIONS = {
    "organizations:DescribeOrganization",
    "organizations:ListAccounts",
    "sts:AssumeRole",
    "iam:ListOrganizationsFeatures",
}
# Flags of the binary (the contract); checked against `--help` too when a binary is built.
KNOWN_FLAGS = {
    "web.listen-address", "web.telemetry-path", "web.config.file", "refresh.interval",
    "credential-report.timeout", "credential-report.file", "account-summary.file",
    "credential-report.max-bytes", "once", "aws.region", "aws.timeout", "aws.max-attempts",
    "metrics.per-user", "metrics.access-key-ids", "log.level", "log.format", "config.file",
    "shard.count", "shard.index", "version",
}
KNOWN_FLAG_PREFIXES = ("control.",)


class Checker:
    def __init__(self) -> None:
        self.failures = 0
        self.passes = 0
        self.verbose = True

    def ok(self, what: str) -> None:
        self.passes += 1
        if self.verbose:
            print(f"ok   {what}")

    def fail(self, what: str, why: str) -> None:
        self.failures += 1
        print(f"FAIL {what}: {why}")

    def check(self, cond: bool, what: str, why: str = "") -> bool:
        if cond:
            self.ok(what)
        else:
            self.fail(what, why or "condition not met")
        return bool(cond)


C = Checker()


def cargo_package() -> dict:
    return tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]


# ---------------------------------------------------------------------------
# Dockerfile
# ---------------------------------------------------------------------------
def parse_dockerfile(text: str) -> list[dict]:
    instructions, buf = [], ""
    for raw in text.splitlines():
        line = raw.rstrip()
        s = line.lstrip()
        if not s or s.startswith("#"):
            if not buf or s.startswith("#"):
                continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        instructions.append(buf.strip())
        buf = ""
    if buf.strip():
        instructions.append(buf.strip())
    stages: list[dict] = []
    global_args: dict[str, str] = {}
    for ins in instructions:
        kw, _, args = ins.partition(" ")
        kw, args = kw.upper(), args.strip()
        if kw == "FROM":
            m = re.match(r"(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$", args, re.I)
            stages.append({"image": m.group(1), "name": m.group(2), "instrs": []})
        elif not stages:
            if kw == "ARG":
                k, _, v = args.partition("=")
                global_args[k] = v.strip('"')
        else:
            stages[-1]["instrs"].append((kw, args))
    for st in stages:
        st["image_resolved"] = re.sub(
            r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), st["image"]
        )
    return stages


def stage_args(stage: dict) -> dict[str, str]:
    out = {}
    for kw, args in stage["instrs"]:
        if kw == "ARG":
            k, _, v = args.partition("=")
            out[k.strip()] = v.strip().strip('"')
    return out


def kv_pairs(args: str) -> dict[str, str]:
    """Parse `k=v k2="v 2"` (LABEL / ENV)."""
    out = {}
    for tok in shlex.split(args):
        if "=" in tok:
            k, _, v = tok.partition("=")
            out[k] = v
    return out


def check_dockerfile() -> None:
    path = ROOT / "Dockerfile"
    if not C.check(path.is_file(), "Dockerfile exists"):
        return
    stages = parse_dockerfile(path.read_text())
    if not C.check(len(stages) >= 2, "Dockerfile: multi-stage", f"{len(stages)} stage(s)"):
        return
    final = stages[-1]
    kws = [kw for kw, _ in final["instrs"]]
    pkg = cargo_package()

    C.check(
        re.fullmatch(r"gcr\.io/distroless/cc-debian12:nonroot(@sha256:[0-9a-f]{64})?", final["image"]) is not None,
        "Dockerfile: runtime image is gcr.io/distroless/cc-debian12:nonroot",
        final["image"],
    )
    # A tag moves; a digest does not. Every external base image is pinned by digest (a stage
    # built FROM another stage of this file is not an image).
    names = {s["name"] for s in stages if s["name"]}
    unpinned = [
        s["image_resolved"] for s in stages
        if s["image_resolved"] not in names and not re.search(r"@sha256:[0-9a-f]{64}$", s["image_resolved"])
    ]
    C.check(not unpinned, "Dockerfile: every base image pinned by digest (image:tag@sha256:...)", str(unpinned))
    copies = [a for kw, a in final["instrs"] if kw == "COPY" and "--from=" in a]
    builder_name = re.search(r"--from=(\S+)", copies[0]).group(1) if copies else None
    builder = next((s for s in stages if s["name"] == builder_name), None)
    if C.check(builder is not None, "Dockerfile: final stage copies the binary from a named builder stage"):
        C.check(
            re.fullmatch(r"(docker\.io/(library/)?)?rust:[\w.${}-]*bookworm(@sha256:[0-9a-f]{64})?", builder["image_resolved"])
            is not None,
            "Dockerfile: builder is rust:*-bookworm (glibc of Debian 12 = distroless cc-debian12)",
            builder["image_resolved"],
        )
        runs = " ".join(a for kw, a in builder["instrs"] if kw == "RUN")
        C.check(
            re.search(r"\bcargo build\b(?=[^&;]*--profile dist)(?=[^&;]*--locked)", runs) is not None,
            "Dockerfile: builder runs `cargo build --profile dist --locked` (release + fat LTO)",
        )
        bargs = stage_args(builder)
        env = {}
        for kw, a in builder["instrs"]:
            if kw == "ENV":
                env.update(kv_pairs(a))
        C.check(
            "GIT_REVISION" in bargs
            and re.fullmatch(r"\$\{?GIT_REVISION\}?", env.get("AWS_IAM_EXPORTER_GIT_REVISION", "")) is not None,
            "Dockerfile: ARG GIT_REVISION -> ENV AWS_IAM_EXPORTER_GIT_REVISION in the builder",
        )
    C.check(
        any(re.search(rf"\s/usr/local/bin/{NAME}$", a) for a in copies),
        f"Dockerfile: binary installed as /usr/local/bin/{NAME}",
    )
    users = [a for kw, a in final["instrs"] if kw == "USER"]
    C.check(
        bool(users) and users[-1] in ("nonroot", "nonroot:nonroot", f"{UID}", f"{UID}:{UID}"),
        f"Dockerfile: runs as nonroot ({UID})",
        f"USER {users[-1] if users else '(none)'}",
    )
    exposes = " ".join(a for kw, a in final["instrs"] if kw == "EXPOSE").split()
    C.check(f"{PORT}" in exposes or f"{PORT}/tcp" in exposes, f"Dockerfile: EXPOSE {PORT}", str(exposes))
    eps = [a for kw, a in final["instrs"] if kw == "ENTRYPOINT"]
    ep_ok = False
    if eps:
        try:
            ep_ok = json.loads(eps[-1]) == [f"/usr/local/bin/{NAME}"]
        except json.JSONDecodeError:
            pass
    C.check(ep_ok, f'Dockerfile: ENTRYPOINT ["/usr/local/bin/{NAME}"] (exec form)', eps[-1] if eps else "none")
    C.check("HEALTHCHECK" not in kws, "Dockerfile: no HEALTHCHECK (distroless has no shell/curl)")
    C.check("RUN" not in kws, "Dockerfile: no RUN in the runtime stage (it has no shell)")
    cmds = [a for kw, a in final["instrs"] if kw == "CMD"]
    C.check(all(c.startswith("[") for c in cmds), "Dockerfile: CMD (if any) in exec form")

    labels = {}
    for kw, a in final["instrs"]:
        if kw == "LABEL":
            labels.update(kv_pairs(a))
    want = ["title", "description", "source", "licenses", "version", "revision"]
    missing = [w for w in want if f"org.opencontainers.image.{w}" not in labels]
    C.check(not missing, "Dockerfile: OCI labels title/description/source/licenses/version/revision", f"missing {missing}")
    fargs = stage_args(final)
    C.check(
        re.fullmatch(r"\$\{?VERSION\}?", labels.get("org.opencontainers.image.version", "")) is not None
        and fargs.get("VERSION") == pkg["version"],
        f"Dockerfile: ARG VERSION defaults to the crate version {pkg['version']} and labels the image",
        f"ARG VERSION={fargs.get('VERSION')}",
    )
    C.check(
        re.fullmatch(r"\$\{?GIT_REVISION\}?", labels.get("org.opencontainers.image.revision", "")) is not None
        and "GIT_REVISION" in fargs,
        "Dockerfile: image revision label from ARG GIT_REVISION",
    )
    lic = labels.get("org.opencontainers.image.licenses", "")
    lic = re.sub(r"\$\{?(\w+)\}?", lambda m: fargs.get(m.group(1), m.group(0)), lic)
    if pkg.get("license"):
        C.check(lic == pkg["license"], "Dockerfile: licenses label matches Cargo.toml", f"{lic!r} != {pkg['license']!r}")


def dockerignore_patterns() -> list[tuple[bool, re.Pattern]]:
    pats = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        p = line[1:].strip() if neg else line
        p = os.path.normpath(p.lstrip("/"))
        rx = ""
        i = 0
        while i < len(p):
            if p.startswith("**", i):
                rx += ".*"
                i += 2
                if i < len(p) and p[i] == "/":
                    rx = rx[:-2] + "(.*/)?"
                    i += 1
            elif p[i] == "*":
                rx += "[^/]*"
                i += 1
            elif p[i] == "?":
                rx += "[^/]"
                i += 1
            else:
                rx += re.escape(p[i])
                i += 1
        pats.append((neg, re.compile(rx + "$")))
    return pats


def dockerignored(rel: str, pats) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matching a parent excludes it."""
    parts = rel.split("/")
    excluded = False
    for neg, rx in pats:
        for n in range(1, len(parts) + 1):
            if rx.match("/".join(parts[:n])):
                excluded = not neg
                break
    return excluded


def check_dockerignore() -> None:
    path = ROOT / ".dockerignore"
    if not C.check(path.is_file(), ".dockerignore exists"):
        return
    pats = dockerignore_patterns()
    for d in ("target", ".git", ".venv"):
        C.check(dockerignored(f"{d}/x", pats), f".dockerignore excludes {d}/")
    needed = [p for p in ("Cargo.toml", "Cargo.lock", "build.rs") if (ROOT / p).exists()]
    for d in ("src", "benches", "tests", "examples"):
        if (ROOT / d).is_dir():
            needed += [str(f.relative_to(ROOT)) for f in (ROOT / d).rglob("*") if f.is_file() and "__pycache__" not in f.parts]
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    for section in ("lib", "bin", "bench", "test", "example"):
        entries = manifest.get(section, [])
        for e in entries if isinstance(entries, list) else [entries]:
            if isinstance(e, dict) and "path" in e:
                needed.append(os.path.normpath(e["path"]))
    if isinstance(manifest.get("package", {}).get("build"), str):
        needed.append(manifest["package"]["build"])
    hidden = sorted({n for n in needed if dockerignored(n, pats)})
    C.check(not hidden, f".dockerignore keeps the {len(needed)} cargo build inputs in the context", f"hides {hidden[:8]}")


# ---------------------------------------------------------------------------
# Kustomize
# ---------------------------------------------------------------------------
def kustomization_files(kdir: Path, seen: set[Path]) -> None:
    """Check that a kustomization lists existing files and that no manifest is left out."""
    kfile = kdir / "kustomization.yaml"
    if not C.check(kfile.is_file(), f"{rel(kdir)}/kustomization.yaml exists"):
        return
    seen.add(kdir)
    k = yaml.safe_load(kfile.read_text()) or {}
    used: set[Path] = set()
    missing = []
    for r in k.get("resources", []) + k.get("components", []):
        p = (kdir / r).resolve()
        if p.is_dir():
            if p not in seen:
                kustomization_files(p, seen)
        elif p.is_file():
            used.add(p)
        else:
            missing.append(r)
    for patch in k.get("patches", []):
        if isinstance(patch, dict) and "path" in patch:
            p = (kdir / patch["path"]).resolve()
            used.add(p) if p.is_file() else missing.append(patch["path"])
    for gen in k.get("configMapGenerator", []) + k.get("secretGenerator", []):
        for f in gen.get("files", []):
            f = f.split("=", 1)[-1]
            p = (kdir / f).resolve()
            used.add(p) if p.is_file() else missing.append(f)
    C.check(not missing, f"{rel(kdir)}: every file the kustomization names exists", f"missing {missing}")
    orphans = [
        f.name for f in sorted(kdir.glob("*.y*ml")) if f.name != "kustomization.yaml" and f.resolve() not in used
    ]
    C.check(not orphans, f"{rel(kdir)}: every manifest in the directory is listed", f"not listed: {orphans}")


def render(kdir: Path, kubectl: str | None) -> list[dict] | None:
    if kubectl:
        r = subprocess.run([kubectl, "kustomize", str(kdir)], capture_output=True, text=True)
        if not C.check(r.returncode == 0, f"kubectl kustomize {rel(kdir)}", r.stderr.strip()[-800:]):
            return None
        return [d for d in yaml.safe_load_all(r.stdout) if d]
    # Fallback without kubectl: concatenate the listed resources (no patches/generators).
    print(f"WARN kubectl not found: {rel(kdir)} checked file by file, patches and generators not applied")
    docs: list[dict] = []

    def collect(d: Path) -> None:
        k = yaml.safe_load((d / "kustomization.yaml").read_text()) or {}
        for r in k.get("resources", []):
            p = d / r
            if p.is_dir():
                collect(p)
            else:
                for doc in yaml.safe_load_all(p.read_text()):
                    if doc and doc.get("kind") == "List":
                        docs.extend(doc.get("items") or [])
                    elif doc:
                        docs.append(doc)

    collect(kdir)
    return docs


# ---------------------------------------------------------------------------
# Objects
# ---------------------------------------------------------------------------
def validate_core(obj: dict, where: str) -> None:
    import kubernetes_validate as kv

    versions = [v or kv.latest_version() for v in K8S_VERSIONS]
    errs = []
    for v in versions:
        try:
            kv.validate(obj, v, strict=True)
        except kv.ValidationError as e:
            errs.append(f"k8s {v}: {'/'.join(map(str, e.path))}: {e.message}")
        except kv.SchemaNotFoundError as e:
            errs.append(f"k8s {v}: no schema ({e})")
    C.check(not errs, f"{where}: {kn(obj)} valid against Kubernetes {', '.join(versions)} schemas (strict)", "; ".join(errs)[:600])


SCHEMAS = {}


def validate_crd(obj: dict, where: str) -> None:
    kind = obj.get("kind", "")
    f = HERE / "schemas" / f"{kind.lower()}.schema.json"
    if not C.check(f.is_file(), f"{where}: {kn(obj)} has a schema", f"no {rel(f)}"):
        return
    schema = SCHEMAS.setdefault(kind, json.loads(f.read_text()))
    errs = sorted(jsonschema.Draft202012Validator(schema).iter_errors(obj), key=lambda e: list(e.path))
    C.check(
        not errs,
        f"{where}: {kn(obj)} valid against {rel(f)} (strict)",
        "; ".join(f"/{'/'.join(map(str, e.path))}: {e.message[:160]}" for e in errs[:5]),
    )


def kn(obj: dict) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"


def rel(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


def binary_help() -> str | None:
    for b in ("target/debug", "target/release", "target/dist"):
        exe = ROOT / b / NAME
        if exe.is_file() and os.access(exe, os.X_OK):
            try:
                r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if r.returncode == 0 and "--" in r.stdout:
                return r.stdout
    return None


HELP = None


def check_args(args: list[str], where: str) -> dict[str, str]:
    flags = {}
    bad = []
    for a in args:
        m = re.fullmatch(r"--([a-z0-9.-]+)(?:=(.*))?", a)
        if not m:
            bad.append(a)
            continue
        flags[m.group(1)] = m.group(2) if m.group(2) is not None else ""
    unknown = [f for f in flags if f not in KNOWN_FLAGS and not f.startswith(KNOWN_FLAG_PREFIXES)]
    C.check(not bad and not unknown, f"{where}: args are --flag=value with known flags", f"bad {bad} unknown {unknown}")
    if HELP is not None:
        absent = [f for f in flags if f"--{f}" not in HELP]
        C.check(not absent, f"{where}: every flag appears in `{NAME} --help`", f"missing {absent}")
    return flags


def check_workload(obj: dict, objs: list[dict], where: str) -> None:
    pkg = cargo_package()
    spec = obj["spec"]
    pod = spec["template"]["spec"]
    plabels = spec["template"]["metadata"].get("labels", {})
    sel = spec["selector"].get("matchLabels", {})
    w = f"{where}: {kn(obj)}"
    C.check(sel and all(plabels.get(k) == v for k, v in sel.items()), f"{w}: selector matches pod labels")
    C.check(not obj["metadata"].get("namespace"), f"{w}: no namespace (namespace-agnostic)")
    sa = pod.get("serviceAccountName")
    C.check(
        any(o["kind"] == "ServiceAccount" and o["metadata"]["name"] == sa for o in objs),
        f"{w}: serviceAccountName {sa} is in the same kustomization",
    )
    sa_obj = next((o for o in objs if o["kind"] == "ServiceAccount" and o["metadata"]["name"] == sa), {})
    C.check(
        re.fullmatch(
            r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+",
            (sa_obj.get("metadata", {}).get("annotations") or {}).get("eks.amazonaws.com/role-arn", ""),
        )
        is not None,
        f"{w}: ServiceAccount has an IRSA role ARN annotation",
    )
    # The Kubernetes API token is not needed: IRSA's token is a projected volume that the EKS pod
    # identity webhook adds whatever automountServiceAccountToken says.
    C.check(
        pod.get("automountServiceAccountToken") is False,
        f"{w}: automountServiceAccountToken false (no Kubernetes API token; IRSA's is projected by the webhook)",
    )
    psc = pod.get("securityContext", {})
    C.check(
        psc.get("runAsNonRoot") is True and psc.get("runAsUser") == UID
        and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
        f"{w}: pod securityContext runAsNonRoot/runAsUser {UID}/seccomp RuntimeDefault",
    )
    containers = pod.get("containers", [])
    C.check(len(containers) == 1, f"{w}: one container")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for c in containers:
        cw = f"{w} container {c['name']}"
        sc = c.get("securityContext", {})
        C.check(
            sc.get("runAsNonRoot") is True
            and sc.get("runAsUser") == UID
            and sc.get("readOnlyRootFilesystem") is True
            and sc.get("allowPrivilegeEscalation") is False
            and sc.get("capabilities", {}).get("drop") == ["ALL"]
            and not sc.get("capabilities", {}).get("add")
            and sc.get("seccompProfile", {}).get("type") == "RuntimeDefault"
            and not sc.get("privileged"),
            f"{cw}: restricted securityContext (non-root, read-only root fs, no escalation, drop ALL, seccomp)",
        )
        image = c.get("image", "")
        C.check(
            image == f"ghcr.io/{NAME}/{NAME}:{pkg['version']}",
            f"{cw}: image tag is the crate version {pkg['version']}",
            image,
        )
        res = c.get("resources", {})
        C.check(
            res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory") and res.get("limits", {}).get("memory"),
            f"{cw}: cpu/memory requests and memory limit",
        )
        ports = {p.get("name"): p for p in c.get("ports", [])}
        C.check(
            ports.get("http-metrics", {}).get("containerPort") == PORT,
            f"{cw}: port http-metrics = {PORT}",
        )
        flags = check_args(c.get("args", []), cw)
        listen = flags.get("web.listen-address", ":9741")
        C.check(listen.rsplit(":", 1)[-1] == str(PORT), f"{cw}: --web.listen-address on port {PORT}", listen)
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            hg = c.get(probe, {}).get("httpGet", {})
            C.check(
                hg.get("path") == path and (hg.get("port") in ports or hg.get("port") == PORT),
                f"{cw}: {probe} GET {path} on the metrics port",
                json.dumps(hg),
            )
        envs = {e["name"]: e for e in c.get("env", [])}
        mounts = c.get("volumeMounts", [])
        if "config.file" in flags:
            cfg = flags["config.file"]
            mount = next((m for m in mounts if cfg.startswith(m["mountPath"].rstrip("/") + "/")), None)
            if C.check(mount is not None, f"{cw}: --config.file {cfg} is on a mounted volume"):
                vol = volumes.get(mount["name"], {})
                cm_name = vol.get("configMap", {}).get("name")
                cm = next((o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == cm_name), None)
                key = cfg[len(mount["mountPath"].rstrip("/")) + 1 :]
                if C.check(
                    cm is not None and key in (cm.get("data") or {}),
                    f"{cw}: config ConfigMap {cm_name} has key {key}",
                ):
                    check_exporter_config(yaml.safe_load(cm["data"][key]), f"{where}: ConfigMap/{cm_name}[{key}]")
        if obj["kind"] == "StatefulSet" or "shard.count" in flags:
            C.check(
                flags.get("shard.count") == str(spec.get("replicas")),
                f"{cw}: --shard.count equals spec.replicas ({spec.get('replicas')})",
                f"--shard.count={flags.get('shard.count')}",
            )
            m = re.fullmatch(r"\$\((\w+)\)", flags.get("shard.index", ""))
            var = m.group(1) if m else None
            fr = (envs.get(var, {}).get("valueFrom") or {}).get("fieldRef", {}) if var else {}
            C.check(
                fr.get("fieldPath") == "metadata.labels['apps.kubernetes.io/pod-index']",
                f"{cw}: --shard.index=$({var}) from the downward-API pod-index label",
                json.dumps(fr),
            )
            C.check(obj["kind"] == "StatefulSet", f"{cw}: sharding uses a StatefulSet (stable ordinals)")
    for v in volumes.values():
        if "configMap" in v:
            name = v["configMap"]["name"]
            C.check(
                any(o["kind"] == "ConfigMap" and o["metadata"]["name"] == name for o in objs),
                f"{w}: volume {v['name']} ConfigMap {name} is rendered too",
            )


def check_exporter_config(cfg, where: str) -> None:
    f = HERE / "schemas" / "exporter-config.schema.json"
    errs = list(jsonschema.Draft202012Validator(json.loads(f.read_text())).iter_errors(cfg))
    C.check(not errs, f"{where}: valid --config.file ({rel(f)})", "; ".join(e.message[:160] for e in errs[:5]))


def check_service_wiring(objs: list[dict], where: str) -> None:
    workloads = [o for o in objs if o["kind"] in ("Deployment", "StatefulSet")]
    C.check(len(workloads) == 1, f"{where}: exactly one workload", str([kn(o) for o in workloads]))
    services = [o for o in objs if o["kind"] == "Service"]
    for svc in services:
        sel = svc["spec"].get("selector", {})
        matches = [
            w for w in workloads if all(w["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in sel.items())
        ]
        C.check(bool(sel) and matches, f"{where}: {kn(svc)} selects the exporter pods")
        port = next((p for p in svc["spec"].get("ports", []) if p.get("name") == "http-metrics"), None)
        C.check(
            port is not None and port.get("port") == PORT and port.get("targetPort") in ("http-metrics", PORT),
            f"{where}: {kn(svc)} port http-metrics {PORT} -> container port http-metrics",
        )
    for sm in (o for o in objs if o["kind"] == "ServiceMonitor"):
        sel = sm["spec"]["selector"].get("matchLabels", {})
        targets = [s for s in services if all(s["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())]
        C.check(len(targets) == 1, f"{where}: {kn(sm)} selects exactly one Service", str([kn(s) for s in targets]))
        for ep in sm["spec"]["endpoints"]:
            names = {p.get("name") for t in targets for p in t["spec"]["ports"]}
            C.check(ep.get("port") in names, f"{where}: {kn(sm)} endpoint port {ep.get('port')} is a Service port name")
            C.check(
                ep.get("interval") == "60s" and ep.get("scrapeTimeout") == "10s" and ep.get("path", "/metrics") == "/metrics",
                f"{where}: {kn(sm)} scrapes /metrics every 60s with a 10s timeout",
            )
    for sm in (o for o in objs if o["kind"] == "StatefulSet"):
        svc = sm["spec"].get("serviceName")
        C.check(any(s["metadata"]["name"] == svc for s in services), f"{where}: {kn(sm)} serviceName {svc} exists")


def check_dashboards(objs: list[dict], where: str) -> None:
    dash = [o for o in objs if o["kind"] == "ConfigMap" and (o["metadata"].get("labels") or {}).get("grafana_dashboard")]
    files = sorted((ROOT / "dashboards").glob("*.json"))
    C.check(len(dash) == len(files), f"{where}: one grafana_dashboard ConfigMap per dashboards/*.json ({len(files)})", f"{len(dash)} ConfigMaps")
    for cm in dash:
        C.check(cm["metadata"]["labels"]["grafana_dashboard"] == "1", f"{where}: {kn(cm)} labelled grafana_dashboard: \"1\"")
        size = sum(len(v.encode()) for v in (cm.get("data") or {}).values())
        C.check(size < 1024 * 1024 - 4096, f"{where}: {kn(cm)} fits in a ConfigMap ({size} bytes)")
        if size > 256 * 1024:
            print(f"WARN {where}: {kn(cm)} is {size} bytes: use `kubectl apply --server-side` (annotation limit)")
        for k, v in (cm.get("data") or {}).items():
            try:
                d = json.loads(v)
                C.ok(f"{where}: {kn(cm)}[{k}] is JSON")
            except json.JSONDecodeError as e:
                C.fail(f"{where}: {kn(cm)}[{k}] is JSON", str(e))
                continue
            # Provisioned dashboards don't go through Grafana's import dialog, so
            # `__inputs` / ${DS_...} placeholders would stay unresolved.
            C.check(
                isinstance(d, dict) and "__inputs" not in d and "${DS_" not in v,
                f"{where}: {kn(cm)}[{k}] has no import-only __inputs/${{DS_...}} datasource placeholders",
            )


def check_rules(objs: list[dict], where: str, promtool: str | None) -> None:
    rules = [o for o in objs if o["kind"] == "PrometheusRule"]
    C.check(len(rules) == 1, f"{where}: one PrometheusRule")
    for pr in rules:
        groups = pr["spec"]["groups"]
        names = [g["name"] for g in groups]
        C.check(len(names) == len(set(names)), f"{where}: {kn(pr)} group names are unique")
        if not promtool:
            C.fail(f"{where}: promtool check rules", "promtool not found")
            continue
        with tempfile.NamedTemporaryFile("w", suffix=".rules.yml", delete=False) as f:
            yaml.safe_dump({"groups": groups}, f, sort_keys=False)
        try:
            r = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
        finally:
            os.unlink(f.name)
        n = re.search(r"SUCCESS: (\d+) rules found", r.stdout)
        C.check(
            r.returncode == 0,
            f"{where}: {kn(pr)} groups pass `promtool check rules`" + (f" ({n.group(1)} rules)" if n else ""),
            (r.stdout + r.stderr).strip()[-800:],
        )


def check_prometheus_config(promtool: str | None) -> None:
    path = ROOT / "deploy" / "prometheus" / "prometheus.yml"
    if not C.check(path.is_file(), f"{rel(path)} exists"):
        return
    jobs = {j["job_name"]: j for j in (yaml.safe_load(path.read_text()) or {}).get("scrape_configs", [])}
    job = jobs.get(NAME, {})
    C.check(
        job.get("scrape_interval") == "60s" and job.get("scrape_timeout") == "10s"
        and any(t.endswith(f":{PORT}") for sc in job.get("static_configs", []) for t in sc.get("targets", [])),
        f"{rel(path)}: job {NAME}, 60s interval, 10s timeout, static target on port {PORT}",
    )
    if not promtool:
        C.fail(f"{rel(path)}: promtool check config", "promtool not found")
        return
    r = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True)
    C.check(r.returncode == 0, f"{rel(path)}: passes `promtool check config`", (r.stdout + r.stderr).strip()[-600:])


# ---------------------------------------------------------------------------
# IAM
# ---------------------------------------------------------------------------
# The only task policy the exporter asks sts:AssumeRoot for (src/aws: the root audit).
ROOT_AUDIT_TASK_POLICY = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"


def policy_actions(doc: dict) -> set[str]:
    out = set()
    for st in doc["Statement"]:
        if st.get("Effect") == "Allow":
            acts = st.get("Action", [])
            out.update([acts] if isinstance(acts, str) else acts)
    return out


def check_iam() -> None:
    from parliament import analyze_policy_string

    docs = {}
    for name in ("iam-policy", "iam-policy-organizations", "iam-policy-root-audit", "role-trust-policy", "irsa-trust-policy"):
        p = ROOT / "deploy" / f"{name}.json"
        try:
            docs[name] = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as e:
            C.fail(f"deploy/{name}.json parses", str(e))
            continue
        d = docs[name]
        C.check(
            d.get("Version") == "2012-10-17" and isinstance(d.get("Statement"), list) and d["Statement"],
            f"deploy/{name}.json: Version 2012-10-17 with statements",
        )
        trust = "trust" in name
        findings = [
            f for f in analyze_policy_string(p.read_text()).findings
            # Trust policies have no Resource, and parliament knows no OIDC providers.
            if not (trust and (f.issue == "UNKNOWN_FEDERATION_SOURCE" and ":oidc-provider/" in str(f.detail)
                               or f.issue == "MALFORMED" and "neither Resource" in str(f.detail)))
            # ListServiceSpecificCredentials is authorized per user (resource type `user`), but the
            # exporter asks with AllUsers=true, for every user of the account: `*` is the resource.
            # The quarantine lookup's GetGroup asks for whichever group a quarantine policy is
            # attached to, and ListEntitiesForPolicy for every AWSCompromisedKeyQuarantine*
            # version, a future one included: `*` too (docs/deployment.md shows how to narrow
            # the latter; moto, which proves the policy sufficient, checks IAM actions against `*`).
            and not (f.issue == "RESOURCE_STAR" and set(f.detail) <= {
                "iam:ListServiceSpecificCredentials", "iam:GetGroup", "iam:ListEntitiesForPolicy"})
        ]
        C.check(
            not findings,
            f"deploy/{name}.json: parliament (IAM policy linter) finds nothing",
            "; ".join(f"{f.issue} {f.detail}" for f in findings),
        )
    if "iam-policy" in docs:
        acts = policy_actions(docs["iam-policy"])
        C.check(
            {a.lower() for a in acts} == {a.lower() for a in IAM_ACTIONS},
            "deploy/iam-policy.json grants exactly the IAM calls an account's refresh makes "
            "(not iam:ListOrganizationsFeatures: the hub's own call)",
            f"extra {sorted(acts - IAM_ACTIONS)} missing {sorted(IAM_ACTIONS - acts)}",
        )
        C.check(
            all(st.get("Resource") == "*" for st in docs["iam-policy"]["Statement"]),
            "deploy/iam-policy.json: Resource * (no resource-level permissions, or every user: ListServiceSpecificCredentials with AllUsers)",
        )
    if "iam-policy-organizations" in docs:
        sts = docs["iam-policy-organizations"]["Statement"]
        C.check(
            policy_actions(docs["iam-policy-organizations"]) == HUB_ACTIONS,
            "deploy/iam-policy-organizations.json: organizations:DescribeOrganization + ListAccounts, "
            "sts:AssumeRole, iam:ListOrganizationsFeatures (the hub's own call) only",
        )
        cfg = yaml.safe_load((ROOT / "deploy/kubernetes/sharded/config.yaml").read_text())
        role = cfg["organizations"]["role_name"]
        assume = [st for st in sts if st.get("Action") == "sts:AssumeRole"]
        C.check(
            any(st.get("Resource") == f"arn:aws:iam::*:role/{role}" for st in assume),
            f"deploy/iam-policy-organizations.json: AssumeRole limited to role/{role} (the config's role_name)",
        )
        org_ids = [
            (st.get("Condition") or {}).get("StringEquals", {}).get("aws:ResourceOrgID") for st in assume
        ]
        C.check(
            bool(assume) and all(isinstance(o, str) and re.fullmatch(r"o-[a-z0-9]{10,32}", o) for o in org_ids),
            "deploy/iam-policy-organizations.json: AssumeRole only on roles of the organization "
            "(StringEquals aws:ResourceOrgID o-...)",
            str(org_ids),
        )
        if "role-trust-policy" in docs:
            check_assume_role_agreement(cfg, assume, docs["role-trust-policy"])
    if "iam-policy-root-audit" in docs:
        # Root audit without member roles (organizations.root_audit): discovery, the
        # organization's features, and sts:AssumeRoot for the read-only audit task alone.
        doc = docs["iam-policy-root-audit"]
        C.check(
            policy_actions(doc)
            == {"organizations:DescribeOrganization", "organizations:ListAccounts", "sts:AssumeRoot",
                "iam:ListOrganizationsFeatures"},
            "deploy/iam-policy-root-audit.json: organizations:DescribeOrganization + ListAccounts, "
            "sts:AssumeRoot, iam:ListOrganizationsFeatures only",
        )
        root = [st for st in doc["Statement"] if st.get("Action") in ("sts:AssumeRoot", ["sts:AssumeRoot"])]
        C.check(
            len(root) == 1
            and root[0].get("Resource") == "arn:aws:iam::*:root"
            and root[0].get("Condition") == {"StringEquals": {"sts:TaskPolicyArn": ROOT_AUDIT_TASK_POLICY}},
            "deploy/iam-policy-root-audit.json: sts:AssumeRoot on member roots, limited by sts:TaskPolicyArn "
            "to IAMAuditRootUserCredentials alone",
        )
    if "role-trust-policy" in docs:
        st = docs["role-trust-policy"]["Statement"][0]
        C.check(
            st.get("Action") == "sts:AssumeRole" and "AWS" in st.get("Principal", {}),
            "deploy/role-trust-policy.json: sts:AssumeRole by an AWS role principal",
        )
    if "irsa-trust-policy" in docs:
        st = docs["irsa-trust-policy"]["Statement"][0]
        cond = st.get("Condition", {}).get("StringEquals", {})
        subs = [v for k, v in cond.items() if k.endswith(":sub")]
        C.check(
            st.get("Action") == "sts:AssumeRoleWithWebIdentity"
            and subs and subs[0].startswith("system:serviceaccount:") and subs[0].endswith(f":{NAME}")
            and any(k.endswith(":aud") and v == "sts.amazonaws.com" for k, v in cond.items()),
            f"deploy/irsa-trust-policy.json: web identity for system:serviceaccount:<ns>:{NAME}, aud sts.amazonaws.com",
        )


def check_assume_role_agreement(cfg: dict, hub_assume: list[dict], trust: dict) -> None:
    """Every AssumeRole that deploy/kubernetes/sharded/config.yaml makes succeeds against the
    shipped policies: the hub policy allows the role, and the member role's trust policy
    (deploy/role-trust-policy.json) accepts the external id it is asked with."""
    where = "deploy/kubernetes/sharded/config.yaml + deploy/role-trust-policy.json"
    org = cfg.get("organizations") or {}
    # (what, role ARN or pattern, external id sent with the AssumeRole or None)
    calls = [(f"accounts[{i}]", a["role_arn"], a.get("external_id")) for i, a in enumerate(cfg.get("accounts") or [])]
    if org:
        calls.append(("organizations", f"arn:aws:iam::123456789012:role/{org['role_name']}", org.get("external_id")))
    resources = [r for st in hub_assume for r in ([st["Resource"]] if isinstance(st.get("Resource"), str) else st.get("Resource", []))]
    # The trust policy's sts:ExternalId condition: values per operator (StringEquals / StringLike).
    wanted: dict[str, list[str]] = {}
    for st in trust["Statement"]:
        if st.get("Effect") == "Allow" and st.get("Action") == "sts:AssumeRole":
            for op, conds in (st.get("Condition") or {}).items():
                v = conds.get("sts:ExternalId")
                if v is not None:
                    wanted.setdefault(op, []).extend([v] if isinstance(v, str) else v)
    C.check(
        set(wanted) <= {"StringEquals", "StringLike"},
        f"{where}: the trust policy's sts:ExternalId condition is StringEquals or StringLike",
        str(sorted(wanted)),
    )

    def accepted(ext: str | None) -> bool:
        if not wanted:
            return True  # no condition: any external id, or none, is accepted
        if ext is None:
            return False
        return ext in wanted.get("StringEquals", []) or any(
            fnmatch.fnmatchcase(ext, p) for p in wanted.get("StringLike", [])
        )

    for what, arn, ext in calls:
        C.check(
            any(fnmatch.fnmatchcase(arn, r) for r in resources),
            f"{where}: {what} ({arn.rsplit('/', 1)[-1]}) is a role the hub policy may assume",
            f"{arn} not in {resources}",
        )
        C.check(
            accepted(ext),
            f"{where}: {what} sends the external id the trust policy requires",
            f"external_id {ext!r}, trust policy sts:ExternalId {wanted}",
        )


# ---------------------------------------------------------------------------
def main() -> int:
    global HELP
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubectl", default=shutil.which("kubectl"))
    ap.add_argument("--promtool", default=shutil.which("promtool"))
    ap.add_argument("--crd-objects-out", type=Path, help="write the CRD objects as JSON for validate-crds.mjs")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only failures, warnings and the summary")
    args = ap.parse_args()
    C.verbose = not args.quiet

    HELP = binary_help()
    if HELP is None:
        print("WARN no built binary: flags checked against the contract's list only")

    if C.verbose:
        print("== Dockerfile")
    check_dockerfile()
    check_dockerignore()

    if C.verbose:
        print("== IAM policies")
    check_iam()

    if C.verbose:
        print("== Prometheus")
    check_prometheus_config(args.promtool)

    if C.verbose:
        print("== Kubernetes")
    seen: set[Path] = set()
    for k in KUSTOMIZATIONS:
        kustomization_files(ROOT / k, seen)
    crd_objects = []
    for k in KUSTOMIZATIONS:
        objs = render(ROOT / k, args.kubectl)
        if objs is None:
            continue
        for o in objs:
            if o.get("kind") == "List":
                C.fail(f"{k}: {kn(o)}", "unexpanded List")
                continue
            if o.get("apiVersion", "").startswith("monitoring.coreos.com/"):
                validate_crd(o, k)
                crd_objects.append({"source": k, "object": o})
            else:
                validate_core(o, k)
            C.check(not (o.get("metadata") or {}).get("namespace"), f"{k}: {kn(o)} sets no namespace")
        for w in (o for o in objs if o["kind"] in ("Deployment", "StatefulSet")):
            check_workload(w, objs, k)
        check_service_wiring(objs, k)
        check_dashboards(objs, k)
        check_rules(objs, k, args.promtool)
    check_exporter_config(
        yaml.safe_load((ROOT / "deploy/kubernetes/sharded/config.yaml").read_text()),
        "deploy/kubernetes/sharded/config.yaml",
    )
    if args.crd_objects_out:
        args.crd_objects_out.write_text(json.dumps(crd_objects))

    print(f"== check_deploy.py: {C.passes} checks ok, {C.failures} failing")
    return 1 if C.failures else 0


if __name__ == "__main__":
    sys.exit(main())
