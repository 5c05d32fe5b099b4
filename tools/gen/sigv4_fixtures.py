#!/usr/bin/env python3
"""Prints requests signed by botocore as C++ constants for tests/unit/daemon/sigv4_test.cpp.

    python3 tools/gen/sigv4_fixtures.py           # boto3 1.43: the JSON protocol
    /usr/bin/python3 tools/gen/sigv4_fixtures.py  # Debian's botocore 1.29: the Query protocol

A real boto3 SQS client makes each request; a before-send hook captures it exactly as it would
go on the wire (method, URL, headers, body) and answers it locally, so nothing is sent. The
signing clock is pinned to 2026-01-15T12:00:00Z so the output is reproducible. The run also
presigns a Query GET with botocore's SigV4QueryAuth (X-Amz-* parameters in the URL).
"""

import datetime
import sys
from urllib.parse import urlsplit

import boto3
import botocore
import botocore.auth
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
ENDPOINT = "http://127.0.0.1:9324"
FIXED = datetime.datetime(2026, 1, 15, 12, 0, 0)

# Pin the signing time: botocore >= 1.31 calls botocore.auth.get_current_datetime(), older
# versions datetime.datetime.utcnow().
if hasattr(botocore.auth, "get_current_datetime"):
    botocore.auth.get_current_datetime = lambda *a, **k: FIXED
else:
    class _Frozen(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return FIXED

    class _Module:
        datetime = _Frozen

    botocore.auth.datetime = _Module


def cxx(s):
    if isinstance(s, bytes):
        s = s.decode("utf-8")
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def emit(name, method, url, headers, body):
    target = url[len(ENDPOINT):] or "/"
    print(f"    {{{cxx(name)},")
    print(f"     {cxx(method)},")
    print(f"     {cxx(target)},")
    print("     {" + ",\n      ".join(f"{{{cxx(k)}, {cxx(v)}}}" for k, v in headers) + "},")
    print(f"     {cxx(body or b'')}}},")


captured = []


def capture(request, **kwargs):
    captured.append(request)
    protocol_json = request.headers.get("Content-Type", b"").startswith(
        b"application/x-amz-json" if isinstance(request.headers.get("Content-Type"), bytes)
        else "application/x-amz-json")
    body = b"{}" if protocol_json else (
        b'<CreateQueueResponse><CreateQueueResult><QueueUrl>http://127.0.0.1:9324/000000000000/'
        b'q1</QueueUrl></CreateQueueResult><ResponseMetadata><RequestId>x</RequestId>'
        b'</ResponseMetadata></CreateQueueResponse>')
    return AWSResponse(request.url, 200, {}, _Raw(body))


class _Raw:
    def __init__(self, body):
        self._body = body

    def stream(self, **kwargs):
        yield self._body

    def read(self, *a, **k):
        return self._body


def main():
    client = boto3.session.Session(aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                                   region_name=REGION).client("sqs", endpoint_url=ENDPOINT)
    client.meta.events.register("before-send.sqs.*", capture)
    for call in (lambda: client.create_queue(QueueName="q1"),
                 lambda: client.send_message(QueueUrl=ENDPOINT + "/000000000000/q1",
                                             MessageBody="hello  world \u00e9")):
        try:
            call()
        except Exception:  # the canned answer may not parse; the request is what we want
            pass
    print(f"  // botocore {botocore.__version__} ({sys.executable}), signed at "
          f"{FIXED.isoformat()}Z")
    for i, r in enumerate(captured):
        headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in r.headers.items()]
        # The HTTP library adds Host when it sends; botocore signed the URL's host:port.
        headers.append(("Host", urlsplit(r.url).netloc))
        emit(f"botocore-{botocore.__version__}-{i}", r.method, r.url, headers, r.body)

    # A presigned Query GET (X-Amz-* in the URL), as SigV4QueryAuth makes it.
    req = AWSRequest(method="GET", url=ENDPOINT + "/000000000000/q1?Action=GetQueueUrl"
                     "&QueueName=q1&Version=2012-11-05", headers={"Host": "127.0.0.1:9324"})
    SigV4QueryAuth(Credentials(AKID, SECRET), "sqs", REGION, expires=300).add_auth(req)
    emit(f"botocore-{botocore.__version__}-presigned", "GET", req.url,
         [(k, v) for k, v in req.headers.items()], b"")


if __name__ == "__main__":
    main()
