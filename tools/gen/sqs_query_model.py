#!/usr/bin/env python3
"""Generates src/daemon/sqs_query_model.inc: the SQS Query-protocol tables for sqs_query.cpp.

Usage: tools/gen/sqs_query_model.py [MODEL_DIR] > src/daemon/sqs_query_model.inc
MODEL_DIR defaults to /work/shared/sqs-model (botocore-1.29-service-2.json and
botocore-1.43-service-2.json).

The Query names (locationName, flattened, resultWrapper) come from the botocore 1.29 model, the
last one Debian ships for the Query protocol. Three operations (StartMessageMoveTask,
CancelMessageMoveTask, ListMessageMoveTasks) and ReceiveMessage's MessageSystemAttributeNames
are newer than that model: they are taken from the 1.43 (JSON) model, with the Query names the
Query-era botocore models 1.29.148-1.34.89 gave them (SQS_REFERENCE.md section 5.2), set below
in OVERLAY. The script fails if 1.43 gains any other member or operation 1.29 lacks, so a model
update cannot silently leave a member unparsed.

Each shape reference is resolved as botocore does (member traits over shape traits), so the
C++ side only follows precomputed names:
  wire       = locationName of the reference, else the member name;
  flattened  = flattened of the reference;
  list element / map key / map value wire = their locationName, else "" (member/key/value).
"""
import copy
import json
import os
import sys

KINDS = {"string": "kString", "integer": "kInteger", "long": "kLong", "boolean": "kBoolean",
         "blob": "kBlob", "structure": "kStructure", "list": "kList", "map": "kMap"}

# Query names of what the 1.29 model lacks (see the docstring).
NEW_OPERATIONS = ["CancelMessageMoveTask", "ListMessageMoveTasks", "StartMessageMoveTask"]
OVERLAY_MEMBERS = {("ReceiveMessageRequest", "MessageSystemAttributeNames")}
OVERLAY_LOCATION = {"ListMessageMoveTasksResultEntryList": "ListMessageMoveTasksResultEntry",
                    "MessageSystemAttributeList": "MessageSystemAttributeName"}


def load(model_dir):
    with open(os.path.join(model_dir, "botocore-1.29-service-2.json")) as f:
        old = json.load(f)
    with open(os.path.join(model_dir, "botocore-1.43-service-2.json")) as f:
        new = json.load(f)
    model = copy.deepcopy(old)
    shapes = model["shapes"]

    def adopt(name):
        """Copies shape `name` (and what it references) from the 1.43 model if 1.29 lacks it."""
        if name in shapes:
            return
        s = copy.deepcopy(new["shapes"][name])
        shapes[name] = s
        if name in OVERLAY_LOCATION:
            s["member"]["locationName"] = OVERLAY_LOCATION[name]
            s["flattened"] = True
        for ref in list(s.get("members", {}).values()) + [s.get(k) for k in ("member", "key", "value")]:
            if ref:
                adopt(ref["shape"])

    for op in NEW_OPERATIONS:
        assert op not in model["operations"], op
        o = copy.deepcopy(new["operations"][op])
        if "output" in o:
            o["output"]["resultWrapper"] = op + "Result"
        model["operations"][op] = o
        adopt(o["input"]["shape"])
        if "output" in o:
            adopt(o["output"]["shape"])
    for shape_name, member in OVERLAY_MEMBERS:
        ref = copy.deepcopy(new["shapes"][shape_name]["members"][member])
        ref.pop("deprecated", None)
        ref.pop("deprecatedMessage", None)
        ref.pop("documentation", None)
        shapes[shape_name]["members"][member] = ref
        adopt(ref["shape"])

    # Anything else new in 1.43 is a member this codec would drop: fail loudly.
    missing_ops = set(new["operations"]) - set(model["operations"])
    assert not missing_ops, missing_ops
    for name, s in new["shapes"].items():
        if s.get("exception") or s.get("error") or name not in shapes:
            continue
        lost = set(s.get("members", {})) - set(shapes[name].get("members", {}))
        assert not lost, (name, lost)
    return model


class Gen:
    def __init__(self, model):
        self.model = model
        self.shape_index = {}  # shape name -> index
        self.shapes = []       # [kind, first_ref, count, shape name]
        self.refs = []         # [json name, wire, shape index, flattened]

    def ref(self, json_name, ref):
        target = self.model["shapes"][ref["shape"]]
        merged = dict(target)
        merged.update({k: v for k, v in ref.items() if k != "shape"})
        wire = merged.get("locationName", json_name)
        return [json_name, wire, self.shape(ref["shape"]), bool(merged.get("flattened"))]

    def shape(self, name):
        if name in self.shape_index:
            return self.shape_index[name]
        s = self.model["shapes"][name]
        i = len(self.shapes)
        self.shape_index[name] = i
        row = [KINDS[s["type"]], 0, 0, name]
        self.shapes.append(row)
        if s["type"] == "structure":
            refs = [self.ref(m, r) for m, r in s["members"].items()]
        elif s["type"] == "list":
            refs = [self.ref("", s["member"])]
        elif s["type"] == "map":
            refs = [self.ref("", s["key"]), self.ref("", s["value"])]
        else:
            refs = []
        row[1] = len(self.refs) if refs else 0
        row[2] = len(refs)
        self.refs.extend(refs)
        return i


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/sqs-model"
    model = load(model_dir)
    g = Gen(model)
    ops = []
    for name in sorted(model["operations"]):
        o = model["operations"][name]
        inp = g.shape(o["input"]["shape"])
        out = g.shape(o["output"]["shape"]) if "output" in o else -1
        if "output" in o:
            assert o["output"]["resultWrapper"] == name + "Result", name
        ops.append((name, inp, out))

    w = sys.stdout.write
    w("// Generated by tools/gen/sqs_query_model.py from botocore-1.29-service-2.json (Query names)\n")
    w("// and botocore-1.43-service-2.json (the move-task operations). Do not edit: run the script.\n")
    w("// Included by sqs_query.cpp, which defines Kind, Shape, Ref and Operation.\n")
    w("// clang-format off\n")
    w("constexpr Shape kShapes[] = {\n")
    for i, (kind, first, count, name) in enumerate(g.shapes):
        w(f"    {{Kind::{kind}, {first}, {count}}},  // {i} {name}\n")
    w("};\n\n")
    w("constexpr Ref kRefs[] = {\n")
    for i, (jname, wire, shape, flat) in enumerate(g.refs):
        w(f'    {{"{jname}", "{wire}", {shape}, {"true" if flat else "false"}}},  // {i}\n')
    w("};\n\n")
    w("// Sorted by name. output -1: the action has no result element.\n")
    w("constexpr Operation kOperations[] = {\n")
    for name, inp, out in ops:
        w(f'    {{"{name}", {inp}, {out}}},\n')
    w("};\n")
    w("// clang-format on\n")


if __name__ == "__main__":
    main()
