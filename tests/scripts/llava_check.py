#!/usr/bin/env python3
"""Applies LLaVA's own data-loading rules (haotian-liu/LLaVA, llava/train/train.py) to llava-format files.

Usage: llava_check.py (--image-folder DIR | --no-image-check) FILE...
Each FILE is read the way LazySupervisedDataset reads --data_path; images are joined to --image_folder.
Prints one line per broken record ("FILE:record N: [rule] reason"), then
"N records conform, M broken (I with image, T text-only, L image lists)"; exits 1 on any broken record
or when no record was read.

Every rule below is written in our own words and names the function of LLaVA it reproduces.
Rule ids match /work/notes/consumers.md section 1 and docs/consumers.md.
"""
import argparse
import json
import os
import sys

# llava/constants.py: DEFAULT_IMAGE_TOKEN is the literal "<image>".
IMAGE_TOKEN = "<image>"
# llava/train/train.py preprocess_v1 (and _llama_2, _mpt): the conversation template's two roles,
# looked up by the turn's "from" value.
ROLES = ("human", "gpt")


def preprocess_multimodal_turn(value):
    """llava/train/train.py preprocess_multimodal (v1.5, mm_use_im_start_end False): a turn holding the
    image token loses every occurrence, is stripped, gets one token and a newline in front, and is stripped
    again. Our text must come out of this unchanged (a fixed point)."""
    if IMAGE_TOKEN not in value:
        return value
    value = value.replace(IMAGE_TOKEN, "").strip()
    return (IMAGE_TOKEN + "\n" + value).strip()


def load_data_path(path):
    """LazySupervisedDataset.__init__: json.load on the whole file, then indexed as a list."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)  # [L1] JSONL with more than one line fails here ("Extra data")
    if not isinstance(data, list):
        raise ValueError(f"top level is {type(data).__name__}, LazySupervisedDataset indexes a list")
    return data


def check_record(rec, image_folder):
    """The problems LLaVA's trainer would hit on one record; empty when it loads and trains as written."""
    if not isinstance(rec, dict):
        return [("L2", "record is not an object")]
    convs = rec.get("conversations")
    # [L2] __getitem__ and preprocess read sources[0]["conversations"], a list of {from, value}.
    if not isinstance(convs, list) or not convs:
        return [("L2", "no conversations list")]
    for j, turn in enumerate(convs):
        if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
            return [("L2", f"turn {j} lacks from/value")]
        # [L4] lengths / modality_lengths call value.split() on every turn: it must be a string.
        if not isinstance(turn["value"], str):
            return [("L4", f"turn {j} value is {type(turn['value']).__name__}, not a string")]
        # [L3] preprocess_v1: roles[sentence["from"]] raises KeyError for any other role name.
        if turn["from"] not in ROLES:
            return [("L3", f"turn {j} is from '{turn['from']}', only human/gpt exist")]
    # [L3] preprocess_v1: a first turn that is not from human is silently dropped (source = source[1:]).
    if convs[0]["from"] != "human":
        return [("L3", "first turn is not from human (LLaVA drops it)")]
    # [L3] preprocess_v1: assert role == conv.roles[j % 2]: human and gpt alternate.
    for j, turn in enumerate(convs):
        if turn["from"] != ROLES[j % 2]:
            return [("L3", f"turn {j} is from {turn['from']}, alternation expects {ROLES[j % 2]}")]
    # Our rule on top of the trainer: the target is the last gpt turn, so a conversation ends with gpt.
    if convs[-1]["from"] != "gpt":
        return [("L3", "last turn is not from gpt")]

    problems = []
    tokens = [t["value"].count(IMAGE_TOKEN) for t in convs]
    # [L5] lengths, modality_lengths and __getitem__ decide "image record" by `'image' in sample`.
    if "image" not in rec:
        if sum(tokens):
            problems.append(("L5", f"text-only record holds {sum(tokens)} {IMAGE_TOKEN}"))
        return problems

    image = rec["image"]
    if isinstance(image, list):
        # [L7] LLaVA-NeXT __getitem__ takes a list (type(image_file) is list); upstream v1.5 does not, so
        # a list is written only when a record really has several images.
        if len(image) < 2:
            problems.append(("L7", f"image is a list of {len(image)}; one image must be a plain string"))
        files = image
    else:
        files = [image]
    # [L5] a present image key must name a file: null/""/[] crash in os.path.join.
    if not files or any(not isinstance(p, str) or not p for p in files):
        problems.append(("L5", "image is present but not a non-empty path"))
        return problems
    # [L6] __getitem__: Image.open(os.path.join(image_folder, image_file)).
    if image_folder is not None:
        for p in files:
            if not os.path.isfile(os.path.join(image_folder, p)):
                problems.append(("L6", f"{os.path.join(image_folder, p)} does not exist"))

    first = convs[0]["value"]
    # [L8] the placeholders open the first human turn; gpt turns and later turns carry none
    # (preprocess_multimodal would move a token found there).
    if any(tokens[1:]):
        problems.append(("L8", f"{IMAGE_TOKEN} outside the first human turn"))
    if len(files) == 1:
        if tokens[0] != 1:
            problems.append(("L8", f"first human turn holds {tokens[0]} {IMAGE_TOKEN} for one image"))
        elif preprocess_multimodal_turn(first) != first:
            problems.append(("L8", "preprocess_multimodal changes the first human turn (token not first, or whitespace around the text)"))
    else:
        # [L9] LLaVA-NeXT preprocess_multimodal keeps a turn that already starts with the token: one
        # "<image>\n" per list entry, all of them first.
        lead = (IMAGE_TOKEN + "\n") * len(files)
        if tokens[0] != len(files) or not first.startswith(lead):
            problems.append(("L9", f"first human turn does not open with {len(files)} '{IMAGE_TOKEN}\\n'"))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--image-folder", help="LLaVA's --image_folder: the root every image path is joined to")
    group.add_argument("--no-image-check", action="store_true", help="skip image existence (images not at hand)")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    ok = bad = with_image = text_only = lists = 0
    for path in args.files:
        try:
            data = load_data_path(path)
        except (ValueError, OSError) as e:
            print(f"{path}: [L1] not loadable by json.load as a list: {e}")
            bad += 1
            continue
        for n, rec in enumerate(data):
            problems = check_record(rec, args.image_folder)
            if isinstance(rec, dict) and "image" in rec:
                with_image += 1
                lists += isinstance(rec["image"], list)
            else:
                text_only += 1
            if problems:
                bad += 1
                print(f"{path}:record {n}: " + "; ".join(f"[{r}] {m}" for r, m in problems))
            else:
                ok += 1
    print(f"{ok} records conform, {bad} broken ({with_image} with image, {text_only} text-only, {lists} image lists)")
    sys.exit(1 if bad or not ok else 0)


if __name__ == "__main__":
    main()
