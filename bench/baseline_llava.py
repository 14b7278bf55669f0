#!/usr/bin/env python3
"""The baseline: what a one-off Python script does with the standard library.

Loads both VQAv2 files with json.load, joins annotations to questions by question_id, wraps each
question with an instruction chosen from a small list (hashed on seed and question id), and writes
LLaVA conversation JSONL. Same join and rendering as `mllmdata build --adapter vqav2 --format llava`.
"""
import argparse
import hashlib
import json
import os

INSTRUCTIONS = [
    "{q}", "Look at the picture and respond to this: {q}", "Question about the image: {q}",
    "Study the photo, then answer. {q}", "Inspect the image carefully. {q}",
]
SUFFIX = "Reply with one word or a short phrase."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", required=True)
    ap.add_argument("--annotations", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with open(args.questions) as f:
        questions = json.load(f)
    with open(args.annotations) as f:
        annotations = json.load(f)
    split = questions.get("data_subtype", "train2014")
    by_qid = {a["question_id"]: a for a in annotations["annotations"]}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "data-00000-of-00001.jsonl"), "w") as out:
        for q in questions["questions"]:
            a = by_qid.get(q["question_id"])
            if a is None:
                continue
            h = int.from_bytes(hashlib.sha256(f"{args.seed}|{q['question_id']}".encode()).digest()[:8], "little")
            prompt = INSTRUCTIONS[h % len(INSTRUCTIONS)].format(q=q["question"]) + "\n" + SUFFIX
            record = {
                "id": f"vqav2-q{q['question_id']}",
                "image": "COCO_%s_%012d.jpg" % (split, q["image_id"]),
                "conversations": [
                    {"from": "human", "value": "<image>\n" + prompt},
                    {"from": "gpt", "value": a["multiple_choice_answer"]},
                ],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
