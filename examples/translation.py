"""Repeated words in machine translation: the paper's text example (section 3.2).

A known failure of sequence-to-sequence translation models is to stutter: "the the",
"I am am". ``NoRepeatedWords`` flags an output with the same token twice in a row; the
paper's version fired on 6.4% of a small PyTorch tutorial model's test set.

There is no translation model in this repository. The outputs below are a small,
HAND-WRITTEN, ILLUSTRATIVE list in the style of that tutorial (French to English), some
with typical stutters; they are not the output of any model, and the rate printed at the
end says nothing about any real system. To monitor a real model, put its outputs in the
``translation`` column (a string, or a list of tokens) and run the same ``check``.

    python examples/translation.py
"""

from __future__ import annotations

import pandas as pd

from assay.assertions import NoRepeatedWords, check, point_assertion

# Illustrative (source, output) pairs, written by hand for this example.
ILLUSTRATIVE_OUTPUTS = [
    ("je suis content .", "i am happy ."),
    ("il est tres fatigue .", "he is very very tired ."),
    ("nous sommes en retard .", "we are late ."),
    ("elle est plus grande que moi .", "she is taller than me ."),
    ("je ne suis pas sur .", "i am not not sure sure ."),
    ("tu es mon ami .", "you are my friend ."),
    ("ils sont dans la cuisine .", "they are in the the kitchen ."),
    ("je suis desole .", "i am sorry ."),
    ("vous etes tres gentil .", "you are very kind ."),
    ("il a peur des chiens .", "he is afraid of dogs ."),
    ("je suis en train de lire .", "i am am reading ."),
    ("elle est occupee .", "she is busy ."),
    ("nous sommes freres .", "we are brothers ."),
    ("je suis ici .", "I i am here ."),  # case differs: caught only with ignore_case=True
]


def main() -> None:
    outputs = pd.DataFrame(ILLUSTRATIVE_OUTPUTS, columns=["source", "translation"])
    outputs["tokens"] = outputs["translation"].str.split()  # token lists work as well as strings
    print(f"{len(outputs)} hand-written, illustrative translations (not a model's output)\n")

    # The built-in, on whitespace-separated strings and on token lists.
    for assertion in (NoRepeatedWords(column="translation"),
                      NoRepeatedWords(column="tokens", ignore_case=True)):
        findings = check(outputs, [assertion])
        rows = [ids[0] for ids in findings["obs_ids"]]  # no id column: ids are row positions
        print(f"{assertion!r}: {len(findings)} of {len(outputs)} outputs flagged "
              f"({len(findings) / len(outputs):.0%})")
        shown = pd.DataFrame({
            "row": rows,
            "translation": outputs["translation"].to_numpy()[rows],
            "severity": findings["severity"].to_numpy(),
            "evidence": findings["evidence"].to_numpy(),
        })
        print(shown.to_string(index=False) + "\n")

    # The same assertion written as in the paper, as a user-defined point assertion on rows:
    # f(model_input, model_output) -> float, 0 abstains.
    @point_assertion(unit="row", inputs=["source"], columns=["translation"])
    def no_repeated_words(original, translation):
        words = translation.split()
        return float(sum(words[i - 1] == words[i] for i in range(1, len(words))))

    findings = check(outputs[["source", "translation"]], [no_repeated_words])
    print(f"the paper's NoRepeatedWords as a user @point_assertion: {len(findings)} outputs flagged, "
          f"severities {findings['severity'].tolist()}")


if __name__ == "__main__":
    main()
