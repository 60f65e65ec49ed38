# Multi-stage build: compile in the full Rust image, run in a slim Debian image as a non-root
# user with only the binary, the migrations and the job catalogue.
# No Docker engine runs on the development machines: `.ci/run` (scripts/check-image-context)
# assembles the build context from this file's COPY lines and builds it offline, so a COPY that
# misses something the build needs fails CI. `.dockerignore` keeps target/ and .odis/ out.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# SQLX_OFFLINE for apalis-postgres's compile-time-checked queries.
COPY .cargo .cargo
# The patched sqlx-core wired through [patch.crates-io] (vendor/README.md).
COPY vendor vendor
COPY src src
COPY migrations migrations
COPY jobs jobs
# The old (pre-V2) schema, embedded for `bench import`'s generated old database (src/db/legacy_fixture.rs).
COPY docs/spec/legacy-tables.sql docs/spec/legacy-tables.sql
# Migrations are embedded into the binary at compile time (sqlx::migrate!).
RUN cargo build --release --locked --bin odis-worker

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home odis
WORKDIR /app
COPY --from=build /src/target/release/odis-worker /usr/local/bin/odis-worker
COPY migrations /app/migrations
COPY jobs /app/jobs
USER odis
ENV PORT=8080 LOG_FORMAT=json
EXPOSE 8080
# No ENTRYPOINT, so fly.toml's release_command ("odis-worker migrate") runs as written.
CMD ["odis-worker", "serve"]
