"""igd.tokenization: the char tokenizer, the offline builds of qwen2.5 / llama3 / smollm2 with
ids from OFFLINE_MODELS.md, and qwen2.5 id-for-id against the reference HF Qwen2.5 files on
every shared title."""

from __future__ import annotations

from pathlib import Path

import pytest

from igd.data import read_info
from igd.templates import Template, prompt_ids
from igd.tokenization import BUILTIN, CharTokenizer, HFTokenizer, load_tokenizer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE_QWEN = SHARED / "tokenizers" / "qwen2.5"
SAMPLES = SHARED / "data" / "amazon-d3-samples"
MOVIELENS = REPO / "data" / "ml-100k"  # where README's `igd data movielens --out` puts it


# --- char ------------------------------------------------------------------------------

def test_char_ids_are_code_points():
    tok = CharTokenizer()
    assert tok.encode("ab\n") == [97, 98, 10]
    assert tok.encode("é😀") == [233, 128512]
    assert tok.encode_batch(["a", "", "bc"]) == [[97], [], [98, 99]]


def test_char_special_ids():
    tok = load_tokenizer("char")
    assert isinstance(tok, CharTokenizer)
    assert (tok.eos_token_id, tok.pad_token_id, tok.bos_token_id) == (3, 0, None)


@pytest.mark.parametrize("text", ["a\x03", "\x00b"])
def test_char_rejects_the_reserved_characters(text):
    with pytest.raises(ValueError, match="reserved control character"):
        CharTokenizer().encode(text)


def test_char_decode_drops_eos_and_padding():
    assert CharTokenizer().decode([97, 98, 10, 3, 0, 0]) == "ab\n"


# --- the built-in real tokenizers --------------------------------------------------------

def test_qwen_known_ids(qwen):
    # OFFLINE_MODELS.md, measured with the HF Qwen2.5 tokenizer
    assert qwen.encode("Super Mario Odyssey") == [19284, 23381, 65781]
    assert qwen.encode("Hello, world!") == [9707, 11, 1879, 0]


def test_qwen_special_ids(qwen):
    assert isinstance(qwen, HFTokenizer)
    assert (qwen.eos_token_id, qwen.pad_token_id, qwen.bos_token_id) == (151643, 151643, None)
    assert qwen.vocab_size == 151643 + 22  # regular ranks + the base models' added tokens
    assert qwen.backend.id_to_token(151643) == "<|endoftext|>"


def test_qwen_newline_and_merges_across_the_title_end(qwen):
    assert qwen.encode("\n") == [198]
    assert qwen.encode("Super Mario Odyssey\n") == [19284, 23381, 65781, 198]
    assert qwen.encode("a\n\n") == [64, 271]  # "\n\n" is one token
    # `"` then `"\n` merge: the last token of `"a"` is not the one of `"a"\n` (README: Token information gain)
    assert qwen.encode('"a"') == [56693, 1]
    assert qwen.encode('"a"\n') == [56693, 698]


def test_qwen_normalises_to_nfc(qwen):
    assert qwen.encode("cafe\u0301") == qwen.encode("caf\u00e9")


def test_qwen_decode_round_trip_skips_eos(qwen):
    text = 'Hyperkin "GN6" Premium Controller — für Genesis\n'
    assert qwen.decode(qwen.encode(text) + [qwen.eos_token_id]) == text


def test_llama3_known_ids_and_bos_on_prompts(llama3):
    assert llama3.encode("Super Mario Odyssey") == [19841, 24270, 66881]  # OFFLINE_MODELS.md
    assert (llama3.bos_token_id, llama3.eos_token_id, llama3.pad_token_id) == (128000, 128001, 128004)
    assert llama3.backend.id_to_token(128001) == "<|end_of_text|>"
    assert llama3.encode("Super Mario Odyssey\n") == [19841, 24270, 66881, 198]
    template = Template()
    ids = prompt_ids(llama3, template, ["Super Mario Odyssey"])
    assert ids[0] == 128000
    assert ids[1:] == llama3.encode(template.prompt(["Super Mario Odyssey"]))
    assert 128000 not in llama3.encode("Super Mario Odyssey")  # targets never get BOS


def test_smollm2_special_ids(builtin_tokenizer):
    # No independent reference exists (the tokenizer lives only in the GGUF): check its roles.
    tok = builtin_tokenizer("smollm2")
    assert tok.backend.id_to_token(tok.eos_token_id) == "<|im_end|>"
    assert tok.bos_token_id is None
    assert tok.vocab_size == 49152
    assert tok.decode(tok.encode("Super Mario Odyssey\n")) == "Super Mario Odyssey\n"


@pytest.mark.parametrize("name", ["qwen2.5", "llama3", "smollm2"])
def test_newline_is_the_byte_level_newline_token(builtin_tokenizer, name):
    tok = builtin_tokenizer(name)
    [newline] = tok.encode("\n")
    assert tok.backend.id_to_token(newline) == "Ċ"  # byte-level BPE's spelling of "\n"
    assert tok.encode("Fargo\n")[-1] == newline


@pytest.mark.parametrize("name", ["qwen2.5", "llama3", "smollm2"])
def test_batch_encoding_equals_one_by_one(builtin_tokenizer, name):
    tok = builtin_tokenizer(name)
    texts = ["Toy Story (1995)\n", '"Misérables, Les"\n', "", "\t<span class=x>\n"]
    assert tok.encode_batch(texts) == [tok.encode(t) for t in texts]


# --- local directories and unknown names -------------------------------------------------

def test_local_tokenizer_directory(qwen, tmp_path):
    folder = tmp_path / "my-qwen"
    qwen.hf.save_pretrained(folder)
    local = load_tokenizer(str(folder))
    assert isinstance(local, HFTokenizer) and local.name == str(folder)
    assert local.encode("Super Mario Odyssey") == [19284, 23381, 65781]
    assert (local.eos_token_id, local.pad_token_id, local.vocab_size) == (151643, 151643, 151665)


@pytest.mark.parametrize("name", ["no-such-org/no-such-tokenizer", "qwen3"])
def test_unknown_name_lists_the_builtins_without_network(monkeypatch, tmp_path, name):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read at import
    monkeypatch.chdir(tmp_path)  # "qwen3" must not resolve to a folder of that name
    with pytest.raises(ValueError) as err:
        load_tokenizer(name)
    message = str(err.value)
    assert repr(name) in message
    assert all(b in message for b in BUILTIN), message


# --- qwen2.5 against the reference HF Qwen2.5 tokenizer ----------------------------------

@pytest.fixture(scope="module")
def reference_qwen():
    if not (REFERENCE_QWEN / "vocab.json").exists():
        pytest.skip(f"reference Qwen2.5 tokenizer not found at {REFERENCE_QWEN}")
    from transformers import AutoTokenizer

    ref = AutoTokenizer.from_pretrained(str(REFERENCE_QWEN))
    # transformers 5.x can silently build an EMPTY Qwen2 tokenizer (OFFLINE_MODELS.md)
    assert ref(["Super Mario Odyssey"], add_special_tokens=False)["input_ids"] == [[19284, 23381, 65781]]
    return ref


def assert_encodes_like_reference(qwen, ref, titles: list[str]) -> None:
    texts = [x for t in titles for x in (t, f"{t}\n", f'"{t}"\n')]
    ours = qwen.encode_batch(texts)
    theirs = ref(texts, add_special_tokens=False)["input_ids"]
    bad = [(text, a, b) for text, a, b in zip(texts, ours, theirs) if a != b]
    assert not bad, f"{len(bad)} of {len(texts)} texts differ, e.g. {bad[0]}"


def test_qwen_matches_reference_on_every_shared_title(qwen, reference_qwen):
    infos = sorted(SAMPLES.glob("*/info.txt"))
    if not infos:
        pytest.skip(f"no shared datasets under {SAMPLES}")
    titles = sorted({t for info in infos for t in read_info(info)[0].titles})
    assert len(titles) > 30_000  # 30,022 distinct titles when this was written
    assert_encodes_like_reference(qwen, reference_qwen, titles)  # ~90k texts, ~15 s


def test_qwen_matches_reference_on_movielens_titles(qwen, reference_qwen):
    info = MOVIELENS / "info.txt"
    if not info.exists():
        pytest.skip(f"no built MovieLens-100K at {MOVIELENS} (igd data movielens --out {MOVIELENS})")
    titles = sorted(set(read_info(info)[0].titles))
    assert_encodes_like_reference(qwen, reference_qwen, titles)


def test_saved_tokenizer_keeps_its_bos(tmp_path, llama3):
    # A checkpoint's tokenizer folder must give prompts the same BOS as the original.
    llama3.save(tmp_path / "tok")
    again = load_tokenizer(str(tmp_path / "tok"))
    assert again.bos_token_id == 128000 and again.eos_token_id == llama3.eos_token_id
    assert again.encode("Super Mario Odyssey") == [19841, 24270, 66881]


def test_saved_folders_with_the_same_tokenizer_json_share_one_parse(tmp_path, qwen):
    # Checkpoints of one base model carry the same 8 MB tokenizer.json: parsed once per process.
    qwen.save(tmp_path / "a")
    qwen.save(tmp_path / "b")
    a, b = load_tokenizer(str(tmp_path / "a")), load_tokenizer(str(tmp_path / "b"))
    assert a.backend is b.backend and a.encode("Super Mario Odyssey") == [19284, 23381, 65781]
    data = (tmp_path / "b" / "tokenizer.json").read_text(encoding="utf-8")
    (tmp_path / "b" / "tokenizer.json").write_text(data.replace('"Super"', '"Super"', 1) + " ", encoding="utf-8")
    c = load_tokenizer(str(tmp_path / "b"))  # other bytes: its own parse
    assert c.backend is not a.backend and c.encode("Super Mario Odyssey") == [19284, 23381, 65781]
