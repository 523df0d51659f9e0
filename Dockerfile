# The API / worker image: the same install as `make setup`, without the embedded chain.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-zenhei nodejs npm make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock pyproject.toml package.json package-lock.json ./
RUN python -m venv .venv && .venv/bin/pip install -q -r requirements.lock
COPY . .
RUN .venv/bin/pip install -q --no-deps --no-build-isolation -e . && npm install --no-audit --no-fund
ENV NOTARY_DATA_DIR=/data NOTARY_HOST=0.0.0.0
EXPOSE 8000
CMD [".venv/bin/notary", "serve"]
