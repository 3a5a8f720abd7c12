# jobq container image: one image for every role (migrate, api, worker, scheduler), chosen by the command.
#   docker build -t jobq:0.1.0 .
#   docker run --rm -e DATABASE_URL=postgres://… jobq:0.1.0 worker
# For production, pin the base image by digest (node:24-bookworm-slim@sha256:…).
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: dev dependencies + TypeScript compile ----------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the "prepare" script runs tsc, and the sources are not copied yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# public/ holds the dashboard's static files; make sure it exists so the runtime COPY never fails.
RUN mkdir -p public && npm run build

# ---- runtime: production dependencies only, non-root -------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only. --ignore-scripts keeps "prepare" (tsc) from running;
# --omit=optional drops the embedded-PostgreSQL binaries (~60 MB) that only `jobq dev` without a
# DATABASE_URL uses — containers always get a DATABASE_URL.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force \
  && ln -s /app/bin/jobq.js /usr/local/bin/jobq
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/public ./public
# The application files stay owned by root (read-only to the process); it runs as the image's
# unprivileged "node" user (uid 1000), which the Kubernetes securityContext also pins.
USER node
# 8000: API (jobq api); 9464: /metrics of jobq worker and jobq scheduler.
EXPOSE 8000 9464
# Suited to the API (the default command). Compose overrides it for worker/scheduler/migrate;
# Kubernetes ignores it and uses the manifests' probes. No curl in slim images: Node's fetch.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["jobq"]
CMD ["api"]
