# syntax=docker/dockerfile:1
# One image for every JustInTimeout process: `jit broker` (default), `jit worker`, `jit demo`,
# `jit backtest`, and the compose demo's span generator. Stage `deps` installs production
# dependencies only; stage `build` compiles src/ to dist/ (bin/jit.js runs dist/ when it matches
# src/, and src/ through tsx otherwise: the compiled broker uses ~40 MB less memory).
#   docker build -t justintimeout .
#   docker run --rm -p 127.0.0.1:5000:5000 justintimeout demo
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# better-sqlite3 downloads a prebuilt binary; the toolchain is the fallback when none matches.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# `npm ci` runs the "prepare" script (scripts/build.mjs); without TypeScript it only says so.
COPY scripts/build.mjs scripts/source-stamp.mjs ./scripts/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# tsx, a dev dependency since the package ships compiled JavaScript, in a folder of its own: only the
# compose demo's span generator (a TypeScript example, not part of the package) runs through it.
FROM ${NODE_IMAGE} AS tsx
WORKDIR /app
COPY package.json ./
RUN mkdir /tsx && cd /tsx \
  && npm install --omit=dev --no-audit --no-fund --no-save \
    "tsx@$(node -p "require('/app/package.json').devDependencies.tsx")" \
  && npm cache clean --force

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/source-stamp.mjs ./scripts/
COPY src ./src
RUN npx --yes --package typescript@5.9 -- node scripts/build.mjs

FROM ${NODE_IMAGE} AS runtime
# In a container the servers listen on every interface of the container (publishing a port is
# what exposes them); the broker's store lives on the /data volume.
ENV NODE_ENV=production \
    JIT_BROKER_HOST=0.0.0.0 \
    JIT_WORKER_HOST=0.0.0.0 \
    JIT_DEMO_HOST=0.0.0.0 \
    JIT_STORE=/data/broker.db
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=tsx /tsx/node_modules ./node_modules
COPY package.json tsconfig.json endpoints.config ./
COPY bin ./bin
COPY scripts/source-stamp.mjs ./scripts/
COPY src ./src
COPY --from=build /app/dist ./dist
COPY data ./data
COPY examples/span-generator ./examples/span-generator
COPY deploy/docker ./deploy/docker
# The application files stay root-owned (read-only for the process); only /data is writable.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 5000 7000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/deploy/docker/healthcheck.mjs"]
ENTRYPOINT ["/bin/sh", "/app/deploy/docker/entrypoint.sh"]
CMD ["broker"]
