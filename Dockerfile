# syntax=docker/dockerfile:1
# One image for every role, chosen by the command: platform (default), ingest, process, sink,
# gateway, and the jobs backfill, train, retention (`node scripts/cli.ts --help`). Node 24 runs
# the TypeScript sources directly (type stripping): there is no compile step.
ARG NODE_IMAGE=node:24-slim

# Production dependencies only (classic-level's prebuilt LevelDB binding comes with its package).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# The dashboard bundle the gateway serves at / (a separate npm project, built once here).
FROM ${NODE_IMAGE} AS dashboard
ENV NG_CLI_ANALYTICS=false
WORKDIR /app/dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY dashboard/angular.json dashboard/tsconfig.json ./
COPY dashboard/src ./src
RUN npx ng build --configuration production

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    CS_DATA_DIR=/data \
    CS_GATEWAY_PORT=8080 \
    CS_LOG_FORMAT=json \
    DASHBOARD_BUILD=never
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY common ./common
COPY engine ./engine
COPY state ./state
COPY processors ./processors
COPY topologies ./topologies
COPY ingest ./ingest
COPY sinks ./sinks
COPY gateway ./gateway
COPY scripts ./scripts
# the recorded sample the replay source plays (CS_SOURCE=replay); mount more with CS_BINANCE_DATA
COPY data ./data
COPY --from=dashboard /app/dashboard/dist ./dashboard/dist
# /data: embedded log, state stores, checkpoints (a volume; the process role's PVC in Kubernetes)
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# The roles with an HTTP port (platform, process, gateway) answer /health 200 when every
# dependency is up; the ingest and sink roles override or disable this check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.CS_GATEWAY_PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "scripts/cli.ts"]
CMD ["platform"]
