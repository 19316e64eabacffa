"""`igd app`'s server process: import torch, transformers and the model classes first, then run
Streamlit's own command line (`python -m igd.app_server run app/streamlit_app.py ...`).

Those imports take about 6 s on 2 CPU cores, longer than everything else the Recommend page
does on its first use (load two demo checkpoints, rebuild their tries from the stored item
priors, decode three arms: about 2 s). Done once here, before the server answers, no visitor
waits for them; in a background thread they would race Streamlit's own imports.
"""

from __future__ import annotations

import sys
import time


def preload() -> float:
    """Import what the Recommend page's first use needs; returns the seconds it took."""
    start = time.perf_counter()
    import altair  # noqa: F401  the pages' charts and tables
    import pandas  # noqa: F401

    import igd.compare  # noqa: F401  torch, transformers, igd's decoding
    # AutoModelForCausalLM resolves the class on first load: the tiny model (Qwen2 layout) and
    # the Llama layout of SmolLM2 are the two the demo and README use.
    import transformers.models.llama.modeling_llama  # noqa: F401
    import transformers.models.qwen2.modeling_qwen2  # noqa: F401
    return time.perf_counter() - start


def main() -> None:
    print(f"igd app: imported torch and transformers in {preload():.1f} s", file=sys.stderr)
    from streamlit.web.cli import main as streamlit_main

    streamlit_main(prog_name="streamlit")  # as `python -m streamlit`: the same command line


if __name__ == "__main__":
    main()
