# syntax=docker/dockerfile:1
# One image for every FDS process: `fds serve`, `fds worker`, `fds migrate`,
# `fds retention`, `fds model train|retrain` (the Kubernetes manifests in k8s/ pick the
# command with `args`). The build steps live in scripts/build-image, which CI runs
# without Docker (scripts/test, "container image tree"); see docs/operations.md.
#
#   docker build -t fds:0.1.0 .
#   docker run --rm --read-only --tmpfs /tmp fds:0.1.0 --version

ARG RUST_VERSION=1.95.0

# ---- toolchain: Rust plus what the bundled librdkafka needs to build (C/C++, make) and
# the build script's interpreter (python3).
FROM rust:${RUST_VERSION}-slim-bookworm AS toolchain
# Versions come with the pinned Debian release of the base image; pinning each package
# as well would break the build at every Debian point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# ---- plan: the workspace reduced to manifests, lockfile and stub targets. This
# stage reruns on every source change, but its output changes only with the manifests.
FROM toolchain AS plan
COPY . .
RUN scripts/build-image skeleton /skeleton

# ---- dependencies: compiled from the skeleton alone, so this layer stays cached until
# Cargo.toml or Cargo.lock change.
FROM toolchain AS dependencies
COPY --from=plan /skeleton/ ./
RUN cargo build --locked --release -p fds-cli

# ---- build: the real sources over the compiled dependencies. COPY keeps the
# context's modification times, which may be older than the stubs' build: touching
# the workspace's own sources makes cargo rebuild them instead of linking the stubs.
FROM dependencies AS build
COPY . .
RUN find crates -name '*.rs' -exec touch {} + \
    && scripts/build-image --profile release --out /image

# ---- runtime: glibc and libgcc only (what the binary links, checked in CI), no shell,
# no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /image/ /
# The working directory is the one path the image itself makes writable; mount a tmpfs
# or an emptyDir on /tmp as well and the root filesystem can be read-only.
COPY --from=build --chown=10001:10001 /image/var/lib/fds/ /var/lib/fds/
USER 10001:10001
WORKDIR /var/lib/fds
ENV TMPDIR=/tmp
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/fds"]
CMD ["serve", "--config", "/etc/fds/fds.toml"]
