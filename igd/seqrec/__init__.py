"""Classic sequential recommenders as baselines for the LLM methods: GRU4Rec, SASRec and
LRURec, trained on the same D3 windows and evaluated by title on the whole catalogue."""

from igd.seqrec.train import MODELS, SeqRecConfig, finished_baseline, train_baseline

__all__ = ["MODELS", "SeqRecConfig", "finished_baseline", "train_baseline"]
