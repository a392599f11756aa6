# syntax=docker/dockerfile:1
# roje: build with the full toolchain, run on a slim image as an unprivileged user that may bind
# port 53 and nothing more.

FROM node:24-bookworm-slim AS build
# python3, make and g++: node-gyp builds src/native (batched UDP I/O) during npm ci, against the image's
# own Node headers (nodedir), never downloaded ones.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY package.json package-lock.json ./
COPY src/native ./src/native
# --omit=optional: better-sqlite3-node20 (the Node 20 build of the SQLite driver) is not needed on
# Node 24, whose driver (better-sqlite3 13) ships prebuilt.
RUN npm ci --no-audit --no-fund --omit=optional && test -f src/native/build/Release/batched_udp.node
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# npm run build copies the native module to dist/native/, where dist/transport/ finds it.
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim AS runtime
# Grant the node binary the one capability it needs to bind port 53 (file capability), so the
# process can run as the unprivileged "node" user. libcap2-bin is removed again afterwards.
RUN apt-get update \
  && apt-get install -y --no-install-recommends libcap2-bin \
  && setcap cap_net_bind_service=+ep /usr/local/bin/node \
  && apt-get purge -y libcap2-bin && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# The demo lists the default config filters with (dist/ finds them at ../blocklists/samples).
COPY blocklists ./blocklists
COPY deploy/roje.yaml /etc/roje/roje.yaml
# stateDir of deploy/docker-compose.yml and of `docker run -v roje-state:/var/lib/roje`: a new named
# volume takes this directory's owner, so roje (node) can write its feeds, keys and the store's spool.
RUN mkdir -p /var/lib/roje && chown node:node /var/lib/roje
USER node
EXPOSE 53/udp 53/tcp
ENTRYPOINT ["node", "/app/dist/main.js"]
CMD ["serve", "--config", "/etc/roje/roje.yaml", "--listen", "0.0.0.0:53"]
