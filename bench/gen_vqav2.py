#!/usr/bin/env python3
"""Writes full-scale VQAv2-layout files (train2014 sizes) made of synthetic text.

443,757 questions over 82,783 images, ten answers each: about 40 MB of questions and 350 MB of
annotations, in the official layout and order (questions and annotations in the same order, the
questions of one image together). Standard library only; deterministic for a given --seed.
"""
import argparse
import json
import os
import random

WORDS = ("red blue green white black yellow dog cat man woman table chair car bus train kite "
         "pizza plate bowl sign street grass water sky tree horse bench umbrella phone laptop "
         "window door clock bed couch shirt hat ball bat glove snow beach boat bird").split()
STARTS = ["what color is the", "how many", "is the", "what is the", "are there", "is this a",
          "what is on the", "where is the", "does the", "what kind of"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "data"))
    ap.add_argument("--questions", type=int, default=443757)
    ap.add_argument("--images", type=int, default=82783)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=int, default=1, help="multiply the questions and images (4 gives the 4x input of the memory row)")
    args = ap.parse_args()
    args.questions *= args.scale
    args.images *= args.scale
    rnd = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    qpath = os.path.join(args.out, "v2_OpenEnded_mscoco_train2014_questions.json")
    apath = os.path.join(args.out, "v2_mscoco_train2014_annotations.json")
    info = {"description": "synthetic VQAv2-layout benchmark data", "version": "2.0", "year": 2017}
    lic = {"name": "none", "url": ""}
    per_image, extra = divmod(args.questions, args.images)
    with open(qpath, "w") as qf, open(apath, "w") as af:
        qf.write(json.dumps({"info": info, "task_type": "Open-Ended", "data_type": "mscoco",
                             "license": lic, "data_subtype": "train2014"})[:-1] + ', "questions": [')
        af.write(json.dumps({"info": info, "license": lic, "data_subtype": "train2014"})[:-1] + ', "annotations": [')
        first = True
        image_id = 9
        for i in range(args.images):
            image_id += rnd.randint(1, 6)
            for k in range(per_image + (1 if i < extra else 0)):
                qid = image_id * 1000 + k
                start = rnd.choice(STARTS)
                question = f"{start} {rnd.choice(WORDS)} {rnd.choice(WORDS)}?".capitalize()
                answer_type = rnd.choice(["yes/no", "number", "other"])
                truth = {"yes/no": rnd.choice(["yes", "no"]), "number": str(rnd.randint(0, 9))}.get(answer_type, rnd.choice(WORDS))
                answers = []
                for j in range(10):
                    a = truth if rnd.random() < 0.7 else rnd.choice(WORDS + ["2", "yes", "no"])
                    answers.append({"answer": a, "answer_confidence": rnd.choice(["yes", "yes", "maybe"]), "answer_id": j + 1})
                sep = "" if first else ", "
                first = False
                qf.write(sep + json.dumps({"image_id": image_id, "question": question, "question_id": qid}))
                af.write(sep + json.dumps({"question_type": start, "multiple_choice_answer": truth, "answers": answers,
                                           "image_id": image_id, "answer_type": answer_type, "question_id": qid}))
        qf.write("]}")
        af.write("]}")
    for p in (qpath, apath):
        print(p, os.path.getsize(p))


if __name__ == "__main__":
    main()
