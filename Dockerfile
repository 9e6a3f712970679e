# The bot in a slim image: built as a wheel, run as an unprivileged user, its database (and the
# local Pika's videos) in the /data volume, healthy while /healthz answers.
#   docker build -t pika-discord-bot .
#   docker run --env-file .env -v pika-data:/data -p 127.0.0.1:8080:8080 pika-discord-bot
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite:////data/pika-bot.sqlite3 \
    HTTP_LISTEN=0.0.0.0:8080
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin pika \
    && mkdir /data && chown pika:pika /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER pika
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]
CMD ["python", "-m", "bot"]
