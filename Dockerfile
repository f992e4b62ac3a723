# Doorman production image.
#   docker build -t doorman .
#   docker run -p 8000:8000 -v doorman-data:/data --env-file doorman.env doorman
# The base image's entrypoint runs `deno` with the CMD's arguments, so CMD is a deno subcommand.
FROM denoland/deno:2.9.6

ENV APP_ENV=production \
    KV_PATH=/data/kv.sqlite \
    DENO_NO_UPDATE_CHECK=1

# The KV file lives in a volume the unprivileged `deno` user owns. Ownership must be set
# before VOLUME: changes to a volume path after it is declared are discarded.
RUN mkdir -p /data && chown deno:deno /data
VOLUME /data

WORKDIR /app

# Dependencies first, into the deno user's cache (/deno-dir), so a code change reuses this layer.
# Sources stay root-owned: the server can read its code but not change it.
COPY deno.json deno.lock ./
USER deno
RUN deno install --frozen

COPY . .
# The dashboard's islands bundle is built into the image (static/build is written as root,
# then only read).
USER root
RUN deno task build && deno cache --frozen main.ts
USER deno

EXPOSE 8000

# No curl in the image: ask Deno itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["deno", "eval", "const port = Deno.env.get('PORT') ?? '8000'; const res = await fetch('http://127.0.0.1:' + port + '/health', { signal: AbortSignal.timeout(4000) }); Deno.exit(res.ok ? 0 : 1)"]

CMD ["task", "start"]
