#!/usr/bin/env bash
# Proves that the Dockerfile's build works, without a Docker engine:
#   1. parses the Dockerfile, finds the builder stage (the stage the final image
#      copies the binary from) and extracts its `cargo ...` commands from RUN
#      instructions (BuildKit --mount flags and the non-cargo parts of `&&`
#      chains are dropped);
#   2. runs those exact commands in the repository root (so `--locked` etc. are
#      exercised as in the image build);
#   3. checks that the binary the image copies exists and that `--version` runs
#      and reports the version from Cargo.toml.
# When target/ is warm the cargo step is a no-op and the whole check takes ~1 s.
#
# Usage: scripts/dockerfile-build-check.sh [--print]   (--print: only show the commands)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PRINT_ONLY=0
if [[ "${1:-}" == "--print" ]]; then PRINT_ONLY=1; fi

# The parser prints one line per cargo command, then a final "BINARY <path>" line
# naming the path (relative to the build WORKDIR) the builder installs from.
PARSED="$(python3 - Dockerfile <<'PY'
import re, shlex, sys

path = sys.argv[1]
text = open(path, encoding="utf-8").read()

# Join continuation lines (default escape char '\'), drop comments / blank lines.
instructions = []
buf = ""
for raw in text.splitlines():
    line = raw.rstrip()
    stripped = line.lstrip()
    if not buf and (not stripped or stripped.startswith("#")):
        continue
    if buf and stripped.startswith("#"):
        continue  # comment lines inside a continuation are ignored by Docker
    if line.endswith("\\"):
        buf += line[:-1] + " "
        continue
    buf += line
    instructions.append(buf.strip())
    buf = ""
if buf.strip():
    instructions.append(buf.strip())

stages = []  # each: {"name": str|None, "instrs": [(KW, args)]}
for ins in instructions:
    kw, _, args = ins.partition(" ")
    kw = kw.upper()
    if kw == "FROM":
        m = re.match(r"(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?\s*$", args, re.I)
        if not m:
            sys.exit(f"cannot parse FROM line: {ins}")
        stages.append({"image": m.group(1), "name": m.group(2), "instrs": []})
    elif stages:
        stages[-1]["instrs"].append((kw, args.strip()))
if len(stages) < 2:
    sys.exit("Dockerfile is not multi-stage")

final = stages[-1]
builder_name = None
copied_from = None
for kw, args in final["instrs"]:
    if kw == "COPY":
        m = re.search(r"--from=(\S+)\s+(\S+)", args)
        if m:
            builder_name, copied_from = m.group(1), m.group(2)
if builder_name is None:
    sys.exit("final stage copies nothing from a builder stage")
builder = next((s for s in stages if s["name"] == builder_name), None)
if builder is None and builder_name.isdigit():
    builder = stages[int(builder_name)]
if builder is None:
    sys.exit(f"builder stage {builder_name!r} not found")

cargo_cmds = []
binary = None
for kw, args in builder["instrs"]:
    if kw != "RUN":
        continue
    if args.startswith("["):
        sys.exit("exec-form RUN in builder stage is not supported by this check")
    # Drop RUN flags (--mount=..., --network=..., --security=...).
    while args.startswith("--"):
        args = args.split(None, 1)[1] if " " in args else ""
    for part in re.split(r"\s*(?:&&|;)\s*", args):
        part = part.strip()
        if not part:
            continue
        words = shlex.split(part)
        if words and words[0] == "cargo":
            cargo_cmds.append(shlex.join(words))
        elif words and words[0] in ("install", "cp") and words[-1].endswith(copied_from.rsplit("/", 1)[-1]):
            # `install -D -m 0755 target/release/X /out/X` -> source is the binary we check
            srcs = [w for w in words[1:-1] if not w.startswith("-") and not re.fullmatch(r"[0-7]{3,4}", w)]
            if srcs:
                binary = srcs[-1]
if not cargo_cmds:
    sys.exit(f"no `cargo ...` command found in RUN instructions of stage {builder_name!r}")
for c in cargo_cmds:
    print("CMD " + c)
print("BINARY " + (binary or "target/release/aws-iam-exporter"))
PY
)"

mapfile -t CMDS < <(sed -n 's/^CMD //p' <<<"$PARSED")
BINARY="$(sed -n 's/^BINARY //p' <<<"$PARSED")"

echo "dockerfile-build-check: builder stage commands:"
for c in "${CMDS[@]}"; do echo "  $c"; done
echo "  binary: $BINARY"
if (( PRINT_ONLY )); then exit 0; fi

for c in "${CMDS[@]}"; do
    echo "+ $c"
    # The command comes from our own Dockerfile; run it word-split as Docker's /bin/sh -c would.
    bash -c "$c"
done

if [[ ! -x "$BINARY" ]]; then
    echo "dockerfile-build-check: FAIL: $BINARY was not produced" >&2
    exit 1
fi

WANT_VERSION="$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n1)"
if ! OUT="$("$BINARY" --version 2>&1)"; then
    echo "dockerfile-build-check: FAIL: $BINARY --version exited non-zero: $OUT" >&2
    exit 1
fi
echo "$BINARY --version: $OUT"
if [[ -n "$WANT_VERSION" && "$OUT" != *"$WANT_VERSION"* ]]; then
    echo "dockerfile-build-check: FAIL: --version does not mention Cargo.toml version $WANT_VERSION" >&2
    exit 1
fi

# The runtime image (distroless cc-debian12) has glibc 2.36, libgcc_s and libstdc++ only:
# the binary must need nothing else (no libssl: TLS is aws-lc-rs, linked statically).
if command -v ldd >/dev/null 2>&1; then
    EXTRA="$(ldd "$BINARY" | awk '{print $1}' | grep -vE '^(linux-vdso\.so\.1|linux-gate\.so\.1|/?.*ld-linux[-a-z0-9_.]*\.so\.[0-9]+|libc\.so\.6|libm\.so\.6|libgcc_s\.so\.1|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libstdc\+\+\.so\.6|statically)$' || true)"
    if [[ -n "$EXTRA" ]]; then
        echo "dockerfile-build-check: FAIL: $BINARY needs libraries that distroless/cc-debian12 lacks: $EXTRA" >&2
        exit 1
    fi
    echo "shared libraries: $(ldd "$BINARY" | awk '{print $1}' | tr '\n' ' ')"
fi
if command -v objdump >/dev/null 2>&1; then
    MAXGLIBC="$(objdump -T "$BINARY" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n1)"
    if [[ -n "$MAXGLIBC" && "$(printf '%s\n2.36\n' "$MAXGLIBC" | sort -V | tail -n1)" != "2.36" ]]; then
        echo "dockerfile-build-check: FAIL: needs glibc $MAXGLIBC, distroless cc-debian12 has 2.36" >&2
        exit 1
    fi
    echo "newest glibc symbol version needed: ${MAXGLIBC:-none} (runtime image: 2.36)"
fi
echo "dockerfile-build-check: OK"
