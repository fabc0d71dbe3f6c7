# syntax=docker/dockerfile:1
#
# Container image for aws-iam-exporter.
#
#   docker build -t aws-iam-exporter:0.1.0 \
#     --build-arg VERSION=0.1.0 \
#     --build-arg GIT_REVISION="$(git rev-parse HEAD)" .
#
# The builder's `RUN cargo ...` commands are also run outside Docker by
# scripts/dockerfile-build-check.sh, so keep them plain cargo invocations.
#
# Both base images are pinned by digest (`image:tag@sha256:...`, the digest of the
# multi-platform index): a rebuild of one commit uses the same compiler and the
# same runtime libraries, and a tag moved by someone else changes nothing. The tag
# stays beside the digest to say what it was. To update one, resolve its tag again
# and replace the digest (and the note) in the same commit:
#   docker buildx imagetools inspect rust:1-bookworm        (the "Digest:" line)
#   crane digest gcr.io/distroless/cc-debian12:nonroot
#   rust:1-bookworm                       sha256:93ce27a8...: Rust 1.98.1, Debian 12
#   gcr.io/distroless/cc-debian12:nonroot sha256:9dac0a79...: Debian 12, glibc 2.36

# ---------------------------------------------------------------------------
# Builder: Debian 12 (bookworm), the same glibc as the distroless runtime.
# ---------------------------------------------------------------------------
FROM rust:1-bookworm@sha256:93ce27a88655056a51dbdd8f5f2d7ddc071c7b0070fb288a37b5a285fc83971e AS builder

# The binary embeds its revision (aws_iam_exporter_build_info{revision}); build.rs
# reads this variable and only falls back to `git rev-parse` when it is unset.
# .git is not part of the build context, so pass --build-arg GIT_REVISION.
ARG GIT_REVISION=unknown
ENV AWS_IAM_EXPORTER_GIT_REVISION=${GIT_REVISION} \
    CARGO_TERM_COLOR=never

WORKDIR /src
COPY . .

# BuildKit cache mounts keep the crates.io downloads and the target directory
# between builds (the dependency-caching layer); the binary is copied out of
# the cached target directory within the same step. Profile `dist` (Cargo.toml):
# the release profile with fat LTO, 14 MB instead of 17 (symbols kept).
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --profile dist --locked \
    && install -D -m 0755 target/dist/aws-iam-exporter /out/aws-iam-exporter

# ---------------------------------------------------------------------------
# Runtime: distroless with glibc and libgcc (aws-lc-rs needs them), no shell.
# ---------------------------------------------------------------------------
FROM gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f

ARG VERSION=0.1.0
ARG GIT_REVISION=unknown
ARG SOURCE_URL=https://github.com/aws-iam-exporter/aws-iam-exporter
# Keep in step with `license` in Cargo.toml (checked by scripts/check-deploy.sh).
ARG LICENSE=Apache-2.0

LABEL org.opencontainers.image.title="aws-iam-exporter" \
      org.opencontainers.image.description="Prometheus exporter of AWS IAM credential hygiene (credential report, account summary, password policy, CIS controls)" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="${LICENSE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_REVISION}"

COPY --from=builder /out/aws-iam-exporter /usr/local/bin/aws-iam-exporter

# distroless' `nonroot` user, numeric so that Kubernetes' runAsNonRoot can verify
# it without a runAsUser (a named USER fails that check).
USER 65532:65532
EXPOSE 9741
ENTRYPOINT ["/usr/local/bin/aws-iam-exporter"]
