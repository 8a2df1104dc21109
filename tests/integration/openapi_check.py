#!/usr/bin/python3
"""api/openapi.yaml's schemas applied: every example in the document
validates against the schema beside it, and a JSON answer of the running
service validates against its operation's response schema.

Usage: openapi_check.py DOC examples
       openapi_check.py DOC answer METHOD PATH STATUS FILE
Exit 0 when everything validates; otherwise each failure on stderr, exit 1.
"""
import json
import sys

import jsonschema
import yaml


def validator(doc, schema):
    # $ref '#/components/...' resolves against the whole document.
    resolver = jsonschema.RefResolver.from_schema(doc)
    return jsonschema.Draft202012Validator(schema, resolver=resolver)


def examples(doc):
    failures, seen = [], 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            places = [("request", op.get("requestBody", {}).get("content", {}))]
            for status, resp in op.get("responses", {}).items():
                places.append((f"response {status}", resp.get("content", {})))
            for where, content in places:
                for media, body in content.items():
                    if "example" not in body:
                        continue
                    seen += 1
                    for err in validator(doc, body.get("schema", {})).iter_errors(body["example"]):
                        failures.append(f"{method.upper()} {path} {where} {media}: {err.message}")
    if seen == 0:
        failures.append("the document has no example")
    return failures


def answer(doc, method, path, status, file):
    op = doc["paths"][path][method.lower()]
    resp = op["responses"][status]
    if "$ref" in resp:
        resp = doc["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
    content = resp["content"]
    media = next(m for m in content if "json" in m)
    body = json.load(open(file))
    return [f"{method} {path} {status}: {e.message}" for e in validator(doc, content[media]["schema"]).iter_errors(body)]


def main():
    doc = yaml.safe_load(open(sys.argv[1]))
    if sys.argv[2] == "examples":
        failures = examples(doc)
    else:
        failures = answer(doc, *sys.argv[3:7])
    for f in failures:
        print(f, file=sys.stderr)
    sys.exit(1 if failures else 0)


main()
