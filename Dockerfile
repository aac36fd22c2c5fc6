# The service on the bundled article: docker build -t cited-answers . && docker run -p 8000:8000 cited-answers
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    QA_DATA_DIR=/data \
    QA_RATE_LIMIT=60/minute

WORKDIR /app
# The same order as `make install`: the CPU build of torch first, so that nothing pulls CUDA.
RUN pip install --upgrade pip==26.3 \
 && pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY index ./index
COPY qa ./qa
COPY service ./service
COPY api ./api
COPY mcp_server ./mcp_server
COPY cli ./cli
RUN pip install . \
 && pip install --no-deps --require-hashes -r requirements/tagger.txt

RUN useradd --create-home --uid 10001 qa && mkdir -p /data && chown qa:qa /data
USER qa
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["qa", "serve", "--host", "0.0.0.0", "--port", "8000"]
