"""igd.templates: target text, prompt, target ids and training labels (char tokenizer for
hand-written ids), and a stable prompt/response boundary with the real tokenizers."""

from __future__ import annotations

import pytest

from igd.templates import Template, prompt_ids, target_ids, training_example
from igd.tokenization import CharTokenizer

CHAR = CharTokenizer()  # "a" = 97, "b" = 98, "\n" = 10, '"' = 34, EOS = 3
PLAIN, QUOTED = Template(), Template(style="quoted")


def test_plain_is_the_default_style():
    assert Template().style == "plain"


def test_target_text():
    assert PLAIN.target_text("Fargo (1996)") == "Fargo (1996)\n"
    assert QUOTED.target_text("Fargo (1996)") == '"Fargo (1996)"\n'


@pytest.mark.parametrize("template", [PLAIN, QUOTED], ids=["plain", "quoted"])
@pytest.mark.parametrize("title", ["Fargo", 'Hyperkin "GN6" Controller', '"Quoted"', "a\tb", "x"])
def test_title_from_text_inverts_target_text(template, title):
    assert template.title_from_text(template.target_text(title)) == title


def test_title_from_text_on_generated_text():
    assert PLAIN.title_from_text("Fargo\nGarbage after the newline") == "Fargo"
    assert PLAIN.title_from_text('"Fargo"\n') == '"Fargo"'  # plain never strips quotes
    assert QUOTED.title_from_text('"Fargo"\n"Other"') == "Fargo"
    assert QUOTED.title_from_text("Fargo") == "Fargo"  # unquoted output is kept as is
    assert QUOTED.title_from_text('"') == '"'


def test_prompt_quotes_the_history_in_order():
    prompt = Template(category="movies").prompt(["Fargo", "Heat"])
    assert 'The user interacted with the following movies before: "Fargo", "Heat"\n\n' in prompt
    assert prompt.endswith("### Response:\n")


def test_prompt_keeps_only_the_most_recent_history():
    prompt = Template(max_history=2).prompt(["one", "two", "three"])
    assert 'before: "two", "three"\n' in prompt
    assert '"one"' not in prompt


def test_prompt_with_empty_history():
    assert "before: (nothing yet)\n" in PLAIN.prompt([])


def test_target_ids_by_hand():
    assert target_ids(CHAR, PLAIN, ["ab", "b"]) == [[97, 98, 10, 3], [98, 10, 3]]
    assert target_ids(CHAR, QUOTED, ["ab"]) == [[34, 97, 98, 34, 10, 3]]


def test_prompt_ids_without_bos_are_the_encoded_prompt():
    assert prompt_ids(CHAR, PLAIN, ["ab"]) == CHAR.encode(PLAIN.prompt(["ab"]))


def test_training_example_masks_exactly_the_prompt():
    prompt = prompt_ids(CHAR, PLAIN, ["ab", "b"])
    input_ids, labels = training_example(CHAR, PLAIN, ["ab", "b"], "ab")
    assert input_ids == prompt + [97, 98, 10, 3]
    assert labels == [-100] * len(prompt) + [97, 98, 10, 3]
    first_label = next(i for i, label in enumerate(labels) if label != -100)
    assert first_label == len(prompt)  # the boundary comes from the tokenizer


def test_training_example_with_bos_masks_it_too(llama3):
    input_ids, labels = training_example(llama3, PLAIN, ["Fargo"], "Heat")
    n = len(prompt_ids(llama3, PLAIN, ["Fargo"]))
    assert input_ids[0] == llama3.bos_token_id
    assert labels[:n] == [-100] * n
    assert labels[n:] == input_ids[n:] == llama3.encode("Heat\n") + [llama3.eos_token_id]


# Real titles from the shared Amazon samples and MovieLens, including awkward ones.
REAL_TITLES = [
    "Super Mario Odyssey",
    'Hyperkin "GN6" Premium Controller for Genesis',
    "Fargo (1996)",
    "Misérables, Les (1995)",
    '<span class="a-size-medium a-color-secondary a-text-normal',
    "Transformers Generations Combiner Wars Series PK Bruticus Action Figure\tB3899",
    "3D Solutech Real Black 3D Printer PLA Filament 1.75MM Filament, Dimensional Accuracy +/- 0.03 mm",
    "(500) Days of Summer",
    " leading space",
]


@pytest.mark.parametrize("template", [PLAIN, QUOTED], ids=["plain", "quoted"])
@pytest.mark.parametrize("name", ["qwen2.5", "llama3"])
def test_boundary_is_stable_with_real_tokenizers(builtin_tokenizer, name, template):
    # Encoding prompt and target together gives the same ids as encoding them apart: the
    # labels (target alone) are what the model sees after the prompt.
    tok = builtin_tokenizer(name)
    history = ["Super Mario Odyssey", "Fargo (1996)"]
    prompt = prompt_ids(tok, template, history)
    bos = [tok.bos_token_id] if tok.bos_token_id is not None else []
    for title, target in zip(REAL_TITLES, target_ids(tok, template, REAL_TITLES)):
        joint = bos + tok.encode(template.prompt(history) + template.target_text(title))
        assert joint == prompt + target[:-1], title
        assert target[-1] == tok.eos_token_id


@pytest.mark.parametrize("kwargs, field", [
    ({"style": "bold"}, "style"),
    ({"max_history": 0}, "max_history"),
    ({"category": "  "}, "category"),
])
def test_invalid_template_arguments_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        Template(**kwargs)


OFFICIAL = Template(preamble="official", category="movie")


def test_official_prompt_is_the_official_text():
    # The public IGD code's prompt, written out here by hand (typos and trailing spaces included):
    # instruction part, then the input part with the history unquoted and "{category}s".
    assert OFFICIAL.prompt_parts(["Heat (1995)", "Up (2009)"]) == (
        "Below is an instruction that describes a task, paired with an input that provides further "
        "context. Write a response that appropriately completes the request. \n\n### Instruction:\n"
        "Given a list of movie the user recetenly enjoy, please write a new movie that the user may bought\n",
        "### User Input: \nThe user has palyed the following movies before: Heat (1995), Up (2009)\n\n"
        "### Response: \n")
    assert OFFICIAL.target_text("Heat (1995)") == "Heat (1995)\n"  # unquoted, as IGD's targets


def test_official_prompt_parts_are_tokenised_separately(qwen):
    history = ["Heat (1995)", "Up (2009)"]
    first, second = OFFICIAL.prompt_parts(history)
    assert prompt_ids(qwen, OFFICIAL, history) == qwen.encode(first) + qwen.encode(second)
    assert prompt_ids(CHAR, OFFICIAL, history) == CHAR.encode(OFFICIAL.prompt(history))
