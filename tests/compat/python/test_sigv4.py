#!/usr/bin/env python3
"""lqsd with SigV4 verification on (a config file with an `auth` section), against boto3.

    test_sigv4.py --lqsd PATH --protocol json|query [unittest options, test names]

As in test_sqs_compat.py, botocore chooses the protocol: run with the machine's python3 (boto3
1.43, AWS JSON 1.0) and with Debian's /usr/bin/python3 (botocore 1.29, Query). Checks that the
configured key works end to end, and that a wrong secret, an unknown key, an unsigned request
and a 20-minute-old X-Amz-Date get SQS's errors in the protocol of the request. The run with
auth off is the whole of test_sqs_compat.py.
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lqsd_harness import Lqsd, fail, pop_option  # noqa: E402

REGION = "us-east-1"
AKID = "AKIDLQSTEST"
SECRET = "lqs/test+secret"
CONFIG = f"""# written by test_sigv4.py
auth:
  sigv4: true
  credentials:
    - access_key_id: {AKID}
      secret_access_key: {SECRET}
    - access_key_id: AKIDSECOND
      secret_access_key: second-secret
"""

PROTOCOL = None
ENDPOINT = None
LQSD_PATH = None
boto3 = botocore = ClientError = Config = None


def client(akid=AKID, secret=SECRET):
    session = boto3.session.Session(aws_access_key_id=akid, aws_secret_access_key=secret,
                                    region_name=REGION)
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30)
    return session.client("sqs", endpoint_url=ENDPOINT, config=config)


def frozen_clock(when):
    """Patches botocore's signing clock (botocore >= 1.31: get_current_datetime; before:
    datetime.datetime.utcnow inside botocore.auth)."""
    import botocore.auth
    if hasattr(botocore.auth, "get_current_datetime"):
        return mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: when)

    class Frozen(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

    class Module:
        datetime = Frozen

    return mock.patch.object(botocore.auth, "datetime", Module)


def raw_request(headers=None, sign_with=None, when=None, method="POST", url=None, body=None):
    """Sends one request the way this run's protocol would (a JSON ListQueues, or a Query form
    POST), optionally signed by botocore's SigV4Auth at `when`. Returns (status, headers, body)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    url = url or ENDPOINT + "/"
    if body is None and method == "POST":
        if PROTOCOL == "json":
            body = b"{}"
            headers = {"Content-Type": "application/x-amz-json-1.0",
                       "X-Amz-Target": "AmazonSQS.ListQueues", **(headers or {})}
        else:
            body = b"Action=ListQueues&Version=2012-11-05"
            headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                       **(headers or {})}
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    if sign_with:
        with frozen_clock(when or datetime.datetime.utcnow()):
            SigV4Auth(Credentials(*sign_with), "sqs", REGION).add_auth(request)
    prepared = request.prepare()
    http = urllib.request.Request(prepared.url, data=prepared.body, method=method,
                                  headers=dict(prepared.headers.items()))
    try:
        with urllib.request.urlopen(http, timeout=30) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read()


def error_code(headers, body):
    """The legacy error code of a JSON (x-amzn-query-error) or Query (<Code>) error."""
    if PROTOCOL == "json":
        query_error = {k.lower(): v for k, v in headers.items()}.get("x-amzn-query-error", "")
        shape = json.loads(body)["__type"].split("#")[-1]
        code = query_error.split(";")[0]
        assert shape == code, (shape, code)
        return code
    root = ET.fromstring(body)
    return next(e.text for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Code")


class Sigv4(unittest.TestCase):
    def assert_client_error(self, call, code, status):
        with self.assertRaises(ClientError) as cm:
            call()
        error = cm.exception.response["Error"]
        self.assertEqual(error["Code"], code, cm.exception.response)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
        return error

    def test_0_protocol(self):
        self.assertEqual(client().meta.service_model.protocol, PROTOCOL)

    def test_signed_requests_work(self):
        for akid, secret in ((AKID, SECRET), ("AKIDSECOND", "second-secret")):
            sqs = client(akid, secret)
            url = sqs.create_queue(QueueName=f"{PROTOCOL}-sigv4-{akid}")["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody="signed hello")
            messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
            self.assertEqual([m["Body"] for m in messages], ["signed hello"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
            self.assertIn(url, sqs.list_queues().get("QueueUrls", []))

    def test_wrong_secret(self):
        error = self.assert_client_error(lambda: client(AKID, "wrong").list_queues(),
                                         "SignatureDoesNotMatch", 403)
        self.assertTrue(error["Message"].startswith(
            "The request signature we calculated does not match"), error)

    def test_unknown_key(self):
        error = self.assert_client_error(lambda: client("AKIDUNKNOWN", SECRET).list_queues(),
                                         "InvalidClientTokenId", 403)
        self.assertEqual(error["Message"], "The security token included in the request is invalid.")

    def test_unsigned_request(self):
        status, headers, body = raw_request()
        self.assertEqual(status, 403, body)
        self.assertEqual(error_code(headers, body), "MissingAuthenticationToken")
        # A GET at a queue URL too (auth comes before "no Action").
        status, headers, body = raw_request(method="GET", url=ENDPOINT + "/000000000000/q1")
        self.assertEqual(status, 403, body)

    def test_signed_raw_request(self):
        status, _, body = raw_request(sign_with=(AKID, SECRET))
        self.assertEqual(status, 200, body)

    def test_old_date(self):
        old = datetime.datetime.utcnow() - datetime.timedelta(minutes=20)
        status, headers, body = raw_request(sign_with=(AKID, SECRET), when=old)
        self.assertEqual(status, 400, body)
        self.assertEqual(error_code(headers, body), "RequestExpired")
        # And as the client sees it, from a clock 20 minutes slow.
        with frozen_clock(old):
            self.assert_client_error(lambda: client().list_queues(), "RequestExpired", 400)

    def test_presigned_get(self):
        from botocore.auth import SigV4QueryAuth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        name = f"{PROTOCOL}-presigned"
        client().create_queue(QueueName=name)
        for secret, expected in ((SECRET, 200), ("wrong", 403)):
            request = AWSRequest(method="GET", url=ENDPOINT + "/?Action=GetQueueUrl&QueueName="
                                 + name + "&Version=2012-11-05")
            SigV4QueryAuth(Credentials(AKID, secret), "sqs", REGION, expires=60).add_auth(request)
            status, _, body = raw_request(method="GET", url=request.url)
            self.assertEqual(status, expected, body)
            if expected == 200:
                self.assertIn(b"/" + name.encode() + b"</QueueUrl>", body)


class Startup(unittest.TestCase):
    """lqsd refuses to start when verification is on without credentials."""

    def run_lqsd(self, *args, env=None):
        d = tempfile.mkdtemp(prefix="lqs-sigv4-start-")
        try:
            p = subprocess.run([LQSD_PATH, "--shm-root", os.path.join(d, "shm"), "--data-dir",
                                os.path.join(d, "data"), "--listen", "127.0.0.1:0", *args],
                               capture_output=True, timeout=20,
                               env={**os.environ, **(env or {})}, cwd=d)
            return p.returncode, p.stderr.decode()
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_flag_without_config(self):
        for args, env in ((["--sigv4"], None), ([], {"LQS_SIGV4": "1"})):
            status, err = self.run_lqsd(*args, env=env)
            self.assertEqual(status, 1, err)
            self.assertIn("lqsd: --sigv4 needs credentials", err)

    def test_auth_section_without_credentials(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("auth:\n  sigv4: true\n")
        try:
            status, err = self.run_lqsd("--config", f.name)
            self.assertEqual(status, 1, err)
            self.assertIn("SigV4 verification is on but auth.credentials is empty", err)
        finally:
            os.unlink(f.name)


def main():
    global PROTOCOL, ENDPOINT, LQSD_PATH, boto3, botocore, ClientError, Config
    argv = sys.argv[:]
    LQSD_PATH = pop_option(argv, "--lqsd") or os.environ.get("LQSD")
    LQSD_PATH = os.path.abspath(LQSD_PATH) if LQSD_PATH else LQSD_PATH
    PROTOCOL = pop_option(argv, "--protocol")
    if PROTOCOL not in ("json", "query"):
        fail("pass --protocol json or --protocol query (the protocol this run must prove)")
    try:
        import boto3 as _boto3
        import botocore as _botocore
        from botocore.config import Config as _Config
        from botocore.exceptions import ClientError as _ClientError
    except ImportError as e:
        fail(f"{sys.executable} cannot import boto3 ({e})")
    boto3, botocore, Config, ClientError = _boto3, _botocore, _Config, _ClientError
    print(f"sigv4: {sys.executable}, botocore {botocore.__version__}, protocol {PROTOCOL}",
          flush=True)
    config_dir = tempfile.mkdtemp(prefix="lqs-sigv4-config-")
    config_path = os.path.join(config_dir, "lqsd.yaml")
    with open(config_path, "w") as f:
        f.write(CONFIG)
    lqsd = Lqsd(LQSD_PATH, extra_args=["--config", config_path]).start()
    ENDPOINT = lqsd.endpoint
    ok = False
    try:
        program = unittest.main(argv=argv, exit=False, verbosity=2)
        ok = program.result.wasSuccessful()
    finally:
        status = lqsd.stop(show_log=not ok)
        shutil.rmtree(config_dir, ignore_errors=True)
    if status not in (0, None):
        print(f"lqsd exited with status {status} after SIGTERM", file=sys.stderr)
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
