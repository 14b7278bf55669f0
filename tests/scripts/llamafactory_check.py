#!/usr/bin/env python3
"""Applies LLaMA-Factory's own dataset-loading rules (hiyouga/LLaMA-Factory, src/llamafactory/data/ and
hparams/data_args.py) to a dataset registered in a dataset_info.json.

Usage: llamafactory_check.py --dataset-dir DIR --dataset NAME [--media-dir DIR | --no-image-check]
DIR is LLaMA-Factory's dataset_dir (the folder holding dataset_info.json); --media-dir defaults to it, as
DataArguments.__post_init__ does. Prints one line per problem, then
"N rows convert, M broken (I with images, T text-only; images column declared|not declared)";
exits 1 on any problem or when no row was read.

Every rule below is written in our own words and names the function of LLaMA-Factory it reproduces.
Rule ids match /work/notes/consumers.md sections 2 and 6 and docs/consumers.md.
"""
import argparse
import json
import os
import sys

# extras/constants.py: IMAGE_PLACEHOLDER (the default of the env variable of that name).
IMAGE_PLACEHOLDER = os.environ.get("IMAGE_PLACEHOLDER", "<image>")
# extras/constants.py FILEEXT2TYPE: the builder used for each file extension.
FILEEXT2TYPE = {"arrow": "arrow", "csv": "csv", "json": "json", "jsonl": "json", "parquet": "parquet", "txt": "text"}
# hparams/parser.py DatasetAttr: defaults of the column and tag names a dataset_info entry may override.
DEFAULT_COLUMNS = {"messages": "conversations", "system": None, "tools": None, "images": None}
DEFAULT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"}


class Broken(Exception):
    pass


def dataset_attr(dataset_dir, name):
    """data/parser.py get_dataset_list + DatasetAttr.join: the entry named NAME in dataset_dir/dataset_info.json."""
    info_path = os.path.join(dataset_dir, "dataset_info.json")
    if not os.path.isfile(info_path):
        raise Broken(f"[F1] {info_path} does not exist (get_dataset_list opens it)")
    with open(info_path, encoding="utf-8") as f:
        info = json.load(f)
    if name not in info:
        raise Broken(f"[F1] Undefined dataset {name} in {info_path}")
    entry = info[name]
    # [F1] without a hub or script address the entry is load_from="file", file_name relative to dataset_dir.
    for remote in ("hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name"):
        if remote in entry:
            raise Broken(f"[F1] entry has {remote}; this checker reproduces local files only")
    if "file_name" not in entry:
        raise Broken("[F1] entry has no file_name")
    # [F3] DatasetAttr: formatting defaults to alpaca; our data is sharegpt.
    if entry.get("formatting", "alpaca") != "sharegpt":
        raise Broken(f"[F3] formatting is {entry.get('formatting', 'alpaca (default)')}, expected sharegpt")
    columns = dict(DEFAULT_COLUMNS, **entry.get("columns", {}))
    tags = dict(DEFAULT_TAGS, **entry.get("tags", {}))
    return entry["file_name"], columns, tags


def data_files(dataset_dir, file_name):
    """data/loader.py _load_single_dataset (load_from == "file"): a folder contributes every entry of
    os.listdir (no filter, no recursion); all must map to one builder type through FILEEXT2TYPE."""
    local_path = os.path.join(dataset_dir, file_name)
    if os.path.isdir(local_path):
        files = [os.path.join(local_path, n) for n in sorted(os.listdir(local_path))]
    elif os.path.isfile(local_path):
        files = [local_path]
    else:
        raise Broken(f"[F2] {local_path} not found")
    types = set()
    for path in files:
        if os.path.isdir(path):
            raise Broken(f"[F2] {path} is a folder inside the data folder; load_dataset cannot read it as a file")
        ext = path.rsplit(".", 1)[-1] if "." in os.path.basename(path) else ""
        if ext not in FILEEXT2TYPE:
            raise Broken(f"[F2] {path}: extension '{ext}' is not an allowed file type")
        types.add(FILEEXT2TYPE[ext])
    if len(types) != 1:
        raise Broken(f"[F2] File types should be identical: {sorted(types)}")
    if types != {"json"}:
        raise Broken(f"[F2] builder {types.pop()}: this checker reads json only")
    return files


def rows_of(path):
    """The rows HF datasets' json builder yields for one file: a whole JSON list, else one object per line."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        whole = json.loads(text)
        if isinstance(whole, list):
            return whole
    except json.JSONDecodeError:
        pass
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def json_kind(v):
    return "list" if isinstance(v, list) else "null" if v is None else type(v).__name__


def check_row(row, columns, tags, media_dir):
    """The problems one row meets in DatasetConverter/SharegptDatasetConverter and the multimodal plugin."""
    problems = []
    messages = row.get(columns["messages"])
    if not isinstance(messages, list):
        return [f"[F4] no {columns['messages']} list"]
    role, content = tags["role_tag"], tags["content_tag"]
    if any(not isinstance(m, dict) or role not in m or content not in m for m in messages):
        return [f"[F4] a message lacks {role}/{content}"]
    # [F4] converter.py SharegptDatasetConverter.__call__: a leading system_tag message becomes the system prompt.
    if tags["system_tag"] and messages and messages[0][role] == tags["system_tag"]:
        messages = messages[1:]
    # [F4] odd positions (1st, 3rd, ...) must be user/observation, even ones assistant/function; anything
    # else is logged "Invalid role tag" and the row is skipped as abnormal.
    odd = (tags["user_tag"], tags["observation_tag"])
    even = (tags["assistant_tag"], tags["function_tag"])
    for i, m in enumerate(messages):
        if m[role] not in (odd if i % 2 == 0 else even):
            return [f"[F4] Invalid role tag {m[role]} at message {i}: the row would be skipped"]
    # [F4] an odd message count is "Invalid message count" (abnormal); SupervisedDatasetProcessor then drops a
    # row whose prompt is not an odd-length list or whose response is not exactly one message, so an empty
    # conversation is lost too.
    if len(messages) % 2 != 0 or not messages:
        return [f"[F4] Invalid message count {len(messages)}: the row would be skipped"]
    if any(not isinstance(m[content], str) for m in messages):
        problems.append("[F4] a message content is not a string")
        return problems

    images = []
    if columns["images"]:
        # [F8] converter.py DatasetConverter._find_medias reads row[images column]: a missing key is a KeyError.
        if columns["images"] not in row:
            return [f"[F8] no '{columns['images']}' key although the entry declares it"]
        value = row[columns["images"]]
        # [F5] _find_medias: a string becomes a one-item list; an empty list (or None) means no images.
        images = [value] if isinstance(value, str) else (value or [])
        for p in images:
            # [F5] each path is joined to media_dir; when that file is missing the original string is kept and
            # the later image open fails. We require the joined path to exist.
            if not isinstance(p, str) or (media_dir is not None and not os.path.isfile(os.path.join(media_dir, p))):
                problems.append(f"[F5] image {p!r} not found under media_dir {media_dir}")
    # [F6] mm_plugin.py MMPluginMixin._validate_messages (older: process_messages of each plugin): the image
    # placeholders over all message contents must equal the image count, else a ValueError aborts the run.
    placeholders = sum(m[content].count(IMAGE_PLACEHOLDER) for m in messages)
    if placeholders != len(images):
        problems.append(f"[F6] {placeholders} {IMAGE_PLACEHOLDER} for {len(images)} images"
                        + ("" if columns["images"] else " (no images column declared)"))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset-dir", required=True)
    ap.add_argument("--dataset", required=True)
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--media-dir", help="LLaMA-Factory's media_dir; defaults to --dataset-dir (DataArguments.__post_init__)")
    group.add_argument("--no-image-check", action="store_true", help="skip image existence (images not at hand)")
    args = ap.parse_args()
    media_dir = None if args.no_image_check else args.media_dir or args.dataset_dir

    try:
        file_name, columns, tags = dataset_attr(args.dataset_dir, args.dataset)
        files = data_files(args.dataset_dir, file_name)
    except (Broken, json.JSONDecodeError) as e:
        print(e)
        print("0 rows convert, 1 broken")
        sys.exit(1)

    ok = bad = with_images = text_only = 0
    schema = None
    schema_from = None
    for path in files:
        try:
            rows = rows_of(path)
        except (json.JSONDecodeError, OSError) as e:
            print(f"{path}: not readable by the json builder: {e}")
            bad += 1
            continue
        for n, row in enumerate(rows):
            if not isinstance(row, dict):
                print(f"{path}:row {n}: not an object")
                bad += 1
                continue
            problems = check_row(row, columns, tags, media_dir)
            # [H2] HF datasets (ArrowWriter.write_table) casts every file to the first schema: every row of every
            # shard must carry the same columns with the same JSON kinds (an empty list fits any list).
            shape = {k: json_kind(v) for k, v in row.items()}
            if schema is None:
                schema, schema_from = shape, f"{path}:row {n}"
            elif set(shape) != set(schema):
                problems.append(f"[H2] columns {sorted(shape)} differ from {sorted(schema)} of {schema_from}")
            else:
                clash = [k for k in shape if shape[k] != schema[k] and "null" not in (shape[k], schema[k])]
                if clash:
                    problems.append(f"[H2] column types differ from {schema_from}: {clash}")
            imgs = row.get(columns["images"]) if columns["images"] else None
            if imgs:
                with_images += 1
            else:
                text_only += 1
            if problems:
                bad += 1
                print(f"{path}:row {n}: " + "; ".join(problems))
            else:
                ok += 1
    declared = "declared" if columns["images"] else "not declared"
    print(f"{ok} rows convert, {bad} broken ({with_images} with images, {text_only} text-only; images column {declared})")
    sys.exit(1 if bad or not ok else 0)


if __name__ == "__main__":
    main()
