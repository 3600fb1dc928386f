# One image for the three services; docker-compose.yml picks the service with `command`.
# Two stages: `build` installs every dependency and compiles TypeScript (npm run build:
# tsc -b to dist/ per workspace), then prunes the dev dependencies; the runtime stage holds the
# compiled dist/ and the production dependencies only, runs as the non-root `node` user, and
# runs `node dist/...` (no tsx). Signals: compose sets `init: true` (tini as PID 1); with
# `docker run`, pass --init.
#
# Build arguments and secrets:
#   NODE_IMAGE   base of both stages (default node:20-slim; any image with node 20+, npm and
#                a `node` user, e.g. the Debian stand-in of scripts/ci/standin-images.sh)
#   secret extra_ca   optional PEM bundle trusted by npm during `npm ci` (a TLS-inspecting
#                proxy): docker build --secret id=extra_ca,src=/etc/ssl/certs/ca-certificates.crt
#                (compose: EXTRA_CA_CERTS_FILE). Never stored in a layer.
ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
WORKDIR /app
# Manifests first: the dependency layer is rebuilt only when a package.json or the lockfile changes.
COPY package.json package-lock.json ./
COPY packages/shared/package.json packages/shared/
COPY packages/testing/package.json packages/testing/
COPY queue-system/package.json queue-system/
COPY event-system/package.json event-system/
COPY dlq-system/package.json dlq-system/
RUN --mount=type=secret,id=extra_ca \
    if [ -s /run/secrets/extra_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra_ca; fi; \
    npm ci --ignore-scripts && npm cache clean --force
COPY tsconfig.base.json tsconfig.build.json ./
COPY scripts/build/ scripts/build/
COPY packages/shared/ packages/shared/
COPY queue-system/ queue-system/
COPY event-system/ event-system/
COPY dlq-system/ dlq-system/
RUN npm run build && npm prune --omit=dev --ignore-scripts \
    && find packages/shared/dist queue-system/dist event-system/dist dlq-system/dist \
         \( -name '*.d.ts' -o -name '.tsbuildinfo' \) -delete

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# V8 young generation of 2 MB per semi-space instead of 16 (docs/benchmarks/memory.md, "Memory, compiled"): some
# 10 MB less RSS idle and 25-40 MB less at peak per service, throughput within the noise.
# Override with `-e NODE_OPTIONS=...` (empty: V8's default). scripts/stack.sh and the stack
# benchmark's children use the same value.
ENV NODE_OPTIONS=--max-semi-space-size=2
# glibc malloc: blocks of 128 KB and more mapped on their own and returned when freed, instead
# of a threshold that rises with each such block freed and keeps later ones resident (README
# "Event processor peak", twelfth pass: the event processor 3-6 MB less at peak). Remove the line
# for glibc's own; never set it empty (glibc may read an empty value as 0: every block mapped).
ENV MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/packages/shared/package.json packages/shared/
COPY --from=build /app/packages/shared/dist/ packages/shared/dist/
COPY --from=build /app/queue-system/package.json queue-system/
COPY --from=build /app/queue-system/dist/ queue-system/dist/
COPY --from=build /app/event-system/package.json event-system/
COPY --from=build /app/event-system/dist/ event-system/dist/
COPY --from=build /app/event-system/triggers.example.json event-system/
COPY --from=build /app/dlq-system/package.json dlq-system/
COPY --from=build /app/dlq-system/dist/ dlq-system/dist/
USER node
# Health checks and the default service; compose overrides `command` per service.
EXPOSE 8009 8010 8011
CMD ["node", "--conditions=evinfra-dist", "queue-system/dist/main.js"]
