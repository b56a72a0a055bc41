#!/usr/bin/env python3
"""Write ec2-model.json: the part of the EC2 service model minicloud answers.

The API adapter's tests check every encoded response against the shapes
botocore's EC2 model declares (member locationNames, list wrapping, scalar
types, enum values) and every decoded parameter name against the request
shapes. This script copies just those operations and the shapes they reach,
without documentation, so the tests run where botocore is not installed.

Run from this directory:  python3 genmodel.py > ec2-model.json
"""
import gzip
import json
import os
import sys

import botocore

OPERATIONS = [
    "RunInstances", "DescribeInstances", "StartInstances", "StopInstances",
    "RebootInstances", "TerminateInstances", "DescribeInstanceStatus",
    "CreateTags", "DeleteTags", "DescribeTags", "DescribeImages",
    "DescribeInstanceTypes", "DescribeRegions", "DescribeAvailabilityZones",
    "CreateKeyPair", "ImportKeyPair", "DescribeKeyPairs", "DeleteKeyPair",
    "DescribeInstanceAttribute", "ModifyInstanceAttribute",
    "RegisterImage", "CreateImage", "CopyImage", "DeregisterImage",
    "DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups",
    "DescribeSecurityGroupRules", "CreateSecurityGroup", "DeleteSecurityGroup",
    "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress",
    "GetConsoleOutput",
]

# Member attributes the tests read; the rest (documentation, deprecation
# notes, idempotency hints) is dropped.
MEMBER_KEYS = ("shape", "locationName", "queryName", "flattened")
SHAPE_KEYS = ("type", "enum", "flattened", "required")


def main():
    path = os.path.join(os.path.dirname(botocore.__file__),
                        "data", "ec2", "2016-11-15", "service-2.json.gz")
    with gzip.open(path) as f:
        model = json.load(f)
    shapes = model["shapes"]

    out_shapes = {}

    def visit(name):
        if name in out_shapes:
            return
        src = shapes[name]
        dst = {k: src[k] for k in SHAPE_KEYS if k in src}
        out_shapes[name] = dst
        if "members" in src:
            dst["members"] = {}
            for m, ref in src["members"].items():
                dst["members"][m] = {k: ref[k] for k in MEMBER_KEYS if k in ref}
                visit(ref["shape"])
        if "member" in src:
            ref = src["member"]
            dst["member"] = {k: ref[k] for k in MEMBER_KEYS if k in ref}
            visit(ref["shape"])

    ops = {}
    for op in OPERATIONS:
        o = model["operations"][op]
        ops[op] = {}
        for part in ("input", "output"):
            if part in o:
                ops[op][part] = o[part]["shape"]
                visit(o[part]["shape"])

    json.dump({
        "source": "botocore %s data/ec2/2016-11-15/service-2.json.gz"
                  % botocore.__version__,
        "xmlNamespace": model["metadata"]["xmlNamespace"],
        "operations": ops,
        "shapes": dict(sorted(out_shapes.items())),
    }, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
