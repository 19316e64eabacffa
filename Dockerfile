# Minimal image for now (the Hugging Face Space app arrives with the app issue).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt pyproject.toml README.md ./
COPY igd ./igd
# CPU torch from the PyTorch index keeps the image small; the rest from requirements.txt.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir -r requirements.txt -e .
RUN igd data movielens --out data/ml-100k
CMD ["igd", "stats", "--data", "data/ml-100k", "--tokenizer", "qwen2.5"]
