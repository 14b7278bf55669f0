#!/usr/bin/env python3
"""Checks every line of openai-format JSONL files against OpenAI's own FineTuneChatRequestInput schema.

Usage: openai_schema_check.py OPENAPI_YAML FILE...   Prints "N lines valid, M invalid" and exits 1 on any invalid line.
"""
import json
import sys

import jsonschema
import yaml


def main():
    spec_path, files = sys.argv[1], sys.argv[2:]
    with open(spec_path) as f:
        spec = yaml.safe_load(f)
    # Resolve "#/components/schemas/..." references against the whole spec.
    schema = dict(spec["components"]["schemas"]["FineTuneChatRequestInput"])
    schema["components"] = spec["components"]
    validator = jsonschema.Draft202012Validator(schema)
    valid = invalid = 0
    for path in files:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                errors = list(validator.iter_errors(json.loads(line)))
                if errors:
                    invalid += 1
                    print(f"{path}:{n}: {errors[0].message[:200]}")
                else:
                    valid += 1
    print(f"{valid} lines valid, {invalid} invalid")
    sys.exit(1 if invalid or not valid else 0)


if __name__ == "__main__":
    main()
