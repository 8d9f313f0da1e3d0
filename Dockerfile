# graphtwin server image. docker-compose.yml runs it against Neo4j 5; without
# GRAPHTWIN_NEO4J_URI it would start the embedded ArcadeDB in /var/lib/graphtwin.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the package and the server read at runtime (no .venv, no data dirs).
COPY pyproject.toml README.md ./
COPY graphtwin ./graphtwin
RUN pip install .

# ontologies/ and shapes/ are not package data: a non-editable install cannot find
# them next to the package, so point at the copies in the image.
COPY ontologies ./ontologies
COPY shapes ./shapes
COPY adapters ./adapters

RUN useradd --system --home-dir /var/lib/graphtwin --create-home graphtwin
USER graphtwin

ENV GRAPHTWIN_ONTOLOGY_DIR=/app/ontologies \
    GRAPHTWIN_SHAPES_DIR=/app/shapes \
    GRAPHTWIN_DATA_DIR=/var/lib/graphtwin \
    GRAPHTWIN_HOST=0.0.0.0 \
    GRAPHTWIN_DEV=false

EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]

ENTRYPOINT ["graphtwin"]
CMD ["serve", "--demo", "--host", "0.0.0.0"]
