# One image for the three services; docker-compose.yml picks the service with `command`.
# No build step: TypeScript runs through tsx (a runtime dependency), so the image holds the
# sources and production dependencies only.
FROM node:20-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
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
RUN npm ci --omit=dev && npm cache clean --force

COPY tsconfig.base.json tsconfig.json ./
COPY packages/ packages/
COPY queue-system/ queue-system/
COPY event-system/ event-system/
COPY dlq-system/ dlq-system/

USER node
# Health checks and the default service; compose overrides `command` per service.
EXPOSE 8009 8010 8011
CMD ["node", "--import", "tsx", "queue-system/src/main.ts"]
