"""igd's app: `igd app` (or `streamlit run app/streamlit_app.py`).

Recommend: BIGRec, D3 and IGD side by side for a history, and each recommendation's token path.
Runs: the run store's metrics, seeds, sweeps and loss curves. Catalogue: the dataset's
statistics and its token trie with each next token's information gain.
"""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `ui`, whatever the working directory

from hosting import hosted  # noqa: E402
from ui import close_sidebar_on_phones_after, sidebar_paths  # noqa: E402

if hosted():
    # A bug then shows Streamlit's generic message: a traceback names server paths and code.
    # "none", not False: in this Streamlit False means "stacktrace" (the traceback is shown).
    st.set_option("client.showErrorDetails", "none")
    st.set_option("client.toolbarMode", "viewer")  # no Rerun / Settings / Deploy for visitors
st.set_page_config(page_title="igd: information-gain token decisiveness", layout="wide")
# The pages live in views/, not pages/: a pages/ folder beside the entry script switches on
# Streamlit's automatic multipage mode, which serves a deep link (/runs) without this script.
pages = [st.Page("views/recommend.py", title="Recommend", default=True),
         st.Page("views/runs.py", title="Runs"),
         st.Page("views/catalogue.py", title="Catalogue")]
page = st.navigation(pages)
sidebar_paths()
close_sidebar_on_phones_after(page)
page.run()
