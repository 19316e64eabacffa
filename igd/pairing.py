"""Which checkpoint files an evaluation decoded, so that arms compared as paired provably decode
the very same files.

Arms that share training (BIGRec, D3 and IGD-Decoding only share the SFT checkpoint of a seed;
D3 + IGD, BIGRec + IGD and IGD-Tuning only share the IGD-Tuning one) are compared user by user.
Retraining with the same seed and settings is not bit-reproducible on CPU, so two evaluations
"of the same training settings" may still have decoded different weights, and their difference
would mix the decoding's effect with retraining noise. Every evaluation therefore records the
sha256 of its checkpoint's manifest (`checkpoint_hash`); evaluations stored before that are
identified by their checkpoint's best validation loss (recorded to full float precision with
each evaluation since stores had training settings), and an evaluation with neither is never
paired with another. Torch-free: the experiment, the report and the app read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def _loss(run: Mapping) -> tuple | None:
    """The legacy identity: the checkpoint's best validation loss (and its trie), None if unknown."""
    meta = run.get("config", {}).get("checkpoint_meta") or {}
    loss = meta.get("best_eval_loss")
    return None if loss is None else (loss, meta.get("trie_fingerprint"))


def has_identity(run: Mapping) -> bool:
    """The run records something that names its checkpoint's files (a hash, or the legacy loss)."""
    return bool(run.get("config", {}).get("checkpoint_hash")) or _loss(run) is not None


def same_checkpoint(a: Mapping, b: Mapping) -> bool:
    """Two evaluation runs (store rows: `config` holds the record) decoded the same checkpoint:
    equal manifest hashes when both have one, else the same best validation loss and trie;
    False when that cannot be shown."""
    ha, hb = a.get("config", {}).get("checkpoint_hash"), b.get("config", {}).get("checkpoint_hash")
    if ha and hb:
        return ha == hb
    la = _loss(a)
    return la is not None and la == _loss(b)


def checkpoint_record(checkpoint_hash: str, meta: Mapping) -> dict:
    """A checkpoint on disk as an evaluation row (`same_checkpoint` compares it with stored runs)."""
    return {"config": {"checkpoint_hash": checkpoint_hash,
                       "checkpoint_meta": {k: meta[k] for k in ("best_eval_loss", "trie_fingerprint") if k in meta}}}


def common_checkpoint(candidates: Sequence[Sequence[Mapping]]) -> list[Mapping] | None:
    """One run per decoding, all of one checkpoint: `candidates[i]` holds the stored runs of
    decoding i (newest first). The newest run of the first decoding whose checkpoint every
    other decoding also has wins; None when no checkpoint covers them all."""
    if not candidates or not all(candidates):
        return None
    for first in candidates[0]:
        picked = [first]
        for others in candidates[1:]:
            match = next((r for r in others if same_checkpoint(first, r)), None)
            if match is None:
                break
            picked.append(match)
        else:
            return picked
    return None
