#!/usr/bin/env python3
"""The plain converter: the least a one-off Python script does to turn VQAv2 into LLaVA JSONL.

json.load both files, join annotations to questions on question_id with a dict, one fixed prompt,
json.dumps per line. Standard library only. The heavier baseline (baseline_llava.py) also picks an
instruction per question by a hash; this one does not.
"""
import argparse
import json
import os

PROMPT = "<image>\n{q}\nReply with one word or a short phrase."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", required=True)
    ap.add_argument("--annotations", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.questions) as f:
        questions = json.load(f)
    with open(args.annotations) as f:
        annotations = json.load(f)
    split = questions.get("data_subtype", "train2014")
    by_qid = {a["question_id"]: a for a in annotations["annotations"]}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "data.jsonl"), "w") as out:
        for q in questions["questions"]:
            a = by_qid.get(q["question_id"])
            if a is None:
                continue
            record = {
                "id": f"vqav2-q{q['question_id']}",
                "image": "COCO_%s_%012d.jpg" % (split, q["image_id"]),
                "conversations": [
                    {"from": "human", "value": PROMPT.format(q=q["question"])},
                    {"from": "gpt", "value": a["multiple_choice_answer"]},
                ],
            }
            out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
