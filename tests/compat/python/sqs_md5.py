"""SQS's MD5 digests (SQS_REFERENCE §5.3), checked by the compat suites themselves: botocore
and the AWS CLI validate none of them."""

import base64
import hashlib
import struct


def md5_of_body(body):
    """MD5OfMessageBody / MD5OfBody: lower-case hex MD5 of the body's UTF-8 bytes."""
    return hashlib.md5(body.encode("utf-8")).hexdigest()


def md5_of_attributes(attributes):
    """MD5OfMessageAttributes over {name: {DataType, StringValue | BinaryValue}}.

    BinaryValue may be bytes (boto3) or base64 text (the AWS CLI's JSON output)."""
    def field(h, data):
        h.update(struct.pack(">I", len(data)))
        h.update(data)

    h = hashlib.md5()
    for name in sorted(attributes):
        value = attributes[name]
        field(h, name.encode("utf-8"))
        field(h, value["DataType"].encode("utf-8"))
        if "StringValue" in value:
            h.update(b"\x01")
            field(h, value["StringValue"].encode("utf-8"))
        else:
            binary = value["BinaryValue"]
            if isinstance(binary, str):
                binary = base64.b64decode(binary)
            h.update(b"\x02")
            field(h, binary)
    return h.hexdigest()
