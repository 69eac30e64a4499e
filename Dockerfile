# The Faultline platform image (web and worker). The base is an argument so an
# air-gapped host can build from a locally imported image:
#   docker build --build-arg BASE=local/faultline-base -t faultline .
ARG BASE=python:3.11-slim
FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
# Install from a local wheelhouse when one is provided (air-gapped), else from the index.
# pyproject.toml is listed so the COPY succeeds when there is no wheelhouse.
COPY pyproject.toml var/wheelhouse* /wheelhouse/
RUN python3 -m venv /venv && \
    if ls /wheelhouse/*.whl >/dev/null 2>&1; then \
      /venv/bin/pip install --no-index --find-links /wheelhouse -e . ; \
    else /venv/bin/pip install -e . ; fi
COPY . .
RUN useradd --system --uid 1000 faultline && mkdir -p /app/var && chown faultline /app/var
USER faultline
ENV PATH=/venv/bin:$PATH FAULTLINE_VAR_DIR=/app/var
EXPOSE 8000
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000"]
