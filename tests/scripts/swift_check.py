#!/usr/bin/env python3
"""Applies ms-swift's own dataset rules (modelscope/ms-swift, swift/llm/dataset and swift/llm/template) to
swift-format files, as `swift sft --dataset FILE` reads them.

Usage: swift_check.py [--no-image-check] FILE...   Run it from the folder ms-swift would run in: relative
image paths are resolved against the working directory, as ms-swift does.
Prints one line per broken row, then "N rows conform, M broken (I with images, T text-only)";
exits 1 on any broken row or when no row was read.

Every rule below is written in our own words and names the function of ms-swift it reproduces.
Rule ids match /work/notes/consumers.md sections 3 and 6 and docs/consumers.md.
"""
import argparse
import json
import os
import sys

# swift/llm/template: the image tag counted and inserted by Template._add_default_tags.
IMAGE_TAG = "<image>"
# swift/llm/dataset/preprocessor/core.py RowPreprocessor._check_messages: the roles a message may have.
ROLES = {"system", "user", "tool_call", "tool_response", "tool", "assistant"}
# RowPreprocessor._check_messages keeps only these keys of a message and deletes the rest.
MESSAGE_KEYS = {"role", "content", "loss"}


def rows_of(path):
    """swift/llm/dataset/loader.py DatasetLoader._load_dataset_path: a local .jsonl/.json file goes to HF
    load_dataset("json", data_files=path): a whole JSON list, else one object per line."""
    ext = path.rsplit(".", 1)[-1]
    if ext not in ("json", "jsonl"):
        raise ValueError(f"extension .{ext} is not read as json")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        whole = json.loads(text)
        if isinstance(whole, list):
            return whole
    except json.JSONDecodeError:
        pass
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def resolve_image(p):
    """swift/llm/template/vision_utils.py load_file: "http..." is fetched as a URL, a data: URL or a long
    string is decoded as base64, anything else is a path made absolute against the working directory."""
    if p.startswith("http"):
        return None, "starts with 'http', so ms-swift fetches it as a URL"
    if p.startswith("data:"):
        return None, None
    full = os.path.abspath(os.path.expanduser(p))
    if not os.path.isfile(full):
        return full, f"{full} does not exist (resolved against the working directory {os.getcwd()})"
    return full, None


def check_row(row, check_images):
    # [S3] RowPreprocessor / MessagesPreprocessor rename conversation(s) -> messages and image -> images;
    # we write the standard names, so the renamed forms are reported.
    for alias, standard in (("conversations", "messages"), ("conversation", "messages"), ("image", "images")):
        if alias in row:
            return [f"[S3] column {alias} (ms-swift renames it to {standard}); write {standard}"]
    messages = row.get("messages")
    # [S2] _check_messages: messages must be a non-empty list.
    if not isinstance(messages, list) or not messages:
        return ["[S2] no non-empty messages list"]
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            return [f"[S2] message {i} is not an object"]
        # [S2] _check_messages deletes every other key: data there would be lost silently.
        extra = set(m) - MESSAGE_KEYS
        if extra:
            return [f"[S2] message {i} has keys {sorted(extra)} that ms-swift deletes"]
        if m.get("role") not in ROLES:
            return [f"[S2] message {i} role {m.get('role')!r} is not one of {sorted(ROLES)}"]
        # [S2] content must not be None; we also require a string (our formats never write parts).
        if not isinstance(m.get("content"), str):
            return [f"[S2] message {i} content is {type(m.get('content')).__name__}, not a string"]
    # [S7] Template._swift_prepare_messages glues consecutive same-role messages together with no separator:
    # an optional system first, then user/assistant strictly alternating, ending with the assistant answer.
    body = messages[1:] if messages[0]["role"] == "system" else messages
    for i, m in enumerate(body):
        expected = "user" if i % 2 == 0 else "assistant"
        if m["role"] != expected:
            return [f"[S7] message {i} after the system prompt is {m['role']}, alternation expects {expected}"]
    if not body or body[-1]["role"] != "assistant":
        return ["[S7] the last message is not from the assistant"]

    problems = []
    value = row.get("images", [])
    # [S4] RowPreprocessor._cast_mm_data: images is a string or a list of strings.
    images = [value] if isinstance(value, str) else value
    if not isinstance(images, list) or any(not isinstance(p, str) or not p for p in images):
        return ["[S4] images is not a path or a list of paths"]
    if check_images:
        for p in images:
            _, problem = resolve_image(p)
            if problem:
                problems.append(f"[S5] image {p!r}: {problem}")
    # [S6] Template._add_default_tags: the tags over all messages must match the images; fewer tags get
    # tags prepended to the first message, more tags fail (older) or warn (newer).
    tags = sum(m["content"].count(IMAGE_TAG) for m in messages)
    if tags != len(images):
        problems.append(f"[S6] {tags} {IMAGE_TAG} for {len(images)} images")
    if any(IMAGE_TAG in m["content"] for m in messages if m["role"] != "user"):
        problems.append(f"[S6] {IMAGE_TAG} outside user messages")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-image-check", action="store_true", help="skip image existence (images not at hand)")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    ok = bad = with_images = text_only = 0
    schema = schema_from = None
    for path in args.files:
        try:
            rows = rows_of(path)
        except (ValueError, OSError) as e:
            print(f"{path}: not loadable: {e}")
            bad += 1
            continue
        for n, row in enumerate(rows):
            if not isinstance(row, dict):
                print(f"{path}:row {n}: not an object")
                bad += 1
                continue
            problems = check_row(row, not args.no_image_check)
            # [H2] files given together are concatenated as HF datasets; every row carries the same columns
            # (ArrowWriter.write_table casts each file to the first one's schema).
            if schema is None:
                schema, schema_from = set(row), f"{path}:row {n}"
            elif set(row) != schema:
                problems.append(f"[H2] columns {sorted(row)} differ from {sorted(schema)} of {schema_from}")
            if row.get("images"):
                with_images += 1
            else:
                text_only += 1
            if problems:
                bad += 1
                print(f"{path}:row {n}: " + "; ".join(problems))
            else:
                ok += 1
    print(f"{ok} rows conform, {bad} broken ({with_images} with images, {text_only} text-only)")
    sys.exit(1 if bad or not ok else 0)


if __name__ == "__main__":
    main()
