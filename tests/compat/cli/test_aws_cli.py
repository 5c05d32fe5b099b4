#!/usr/bin/env python3
"""lqsd driven by the real AWS CLI (`aws --endpoint-url http://HOST:PORT sqs ...`).

    test_aws_cli.py --lqsd PATH [--aws PATH] [unittest options, test names]

The CLI is `aws` on PATH unless --aws (or $LQS_COMPAT_AWS) names one. AWS CLI v1 >= 1.32.90
and v2 >= 2.15.41 speak JSON, older ones Query (SQS_REFERENCE §5.0); test_protocol reports
which this one speaks, from its --debug log. Error codes are checked in stderr, where both
protocols show the legacy code. The CLI checks no MD5 digest, so this file does.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from lqsd_harness import Lqsd, fail, pop_option  # noqa: E402
from sqs_md5 import md5_of_attributes, md5_of_body  # noqa: E402

ACCOUNT = "000000000000"
AWS = None
ENDPOINT = None
_counter = iter(range(1, 1 << 30))


def cli_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") or k in ("AWS_CA_BUNDLE",)}
    env.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": "",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "1"})
    return env


def aws(*args, check=True, debug=False):
    command = [AWS] + (["--debug"] if debug else []) + [
        "--endpoint-url", ENDPOINT, "--output", "json", "sqs"] + list(args)
    done = subprocess.run(command, env=cli_env(), capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return done


def aws_json(*args):
    out = aws(*args).stdout.strip()
    return json.loads(out) if out else {}


class AwsCli(unittest.TestCase):
    maxDiff = None

    def new_queue(self, tag, *extra):
        name = f"cli-{tag}-{next(_counter)}"
        url = aws_json("create-queue", "--queue-name", name, *extra)["QueueUrl"]
        self.assertEqual(url, f"{ENDPOINT}/{ACCOUNT}/{name}")
        return name, url

    def assert_cli_error(self, code, *args):
        done = aws(*args, check=False)
        self.assertNotEqual(done.returncode, 0, done.stdout)
        self.assertIn(f"({code})", done.stderr)
        return done

    def test_protocol(self):
        version = subprocess.run([AWS, "--version"], env=cli_env(), capture_output=True,
                                 text=True, timeout=60)
        self.assertEqual(version.returncode, 0, version.stderr)
        done = aws("list-queues", debug=True)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        if "application/x-amz-json-1.0" in done.stderr or "X-Amz-Target" in done.stderr:
            protocol = "json"
        elif "Action=ListQueues" in done.stderr or "Action': 'ListQueues" in done.stderr:
            protocol = "query"
        else:
            self.fail("cannot tell the CLI's protocol from its --debug log")
        print(f"\ncompat: {(version.stdout or version.stderr).strip()} speaks {protocol}",
              file=sys.stderr)

    def test_queue_lifecycle(self):
        name, url = self.new_queue("life", "--attributes", "VisibilityTimeout=45,DelaySeconds=1",
                                   "--tags", "team=payments")
        self.assertIn(url, aws_json("list-queues", "--queue-name-prefix", name)["QueueUrls"])
        self.assertEqual(aws_json("get-queue-url", "--queue-name", name)["QueueUrl"], url)
        attributes = aws_json("get-queue-attributes", "--queue-url", url,
                              "--attribute-names", "All")["Attributes"]
        self.assertEqual(attributes["VisibilityTimeout"], "45")
        self.assertEqual(attributes["DelaySeconds"], "1")
        self.assertEqual(attributes["QueueArn"], f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}")
        self.assertEqual(len(attributes), 12, attributes)
        aws("set-queue-attributes", "--queue-url", url, "--attributes", "VisibilityTimeout=60")
        self.assertEqual(aws_json("get-queue-attributes", "--queue-url", url,
                                  "--attribute-names", "VisibilityTimeout")["Attributes"],
                         {"VisibilityTimeout": "60"})
        aws("tag-queue", "--queue-url", url, "--tags", "env=test")
        self.assertEqual(aws_json("list-queue-tags", "--queue-url", url)["Tags"],
                         {"team": "payments", "env": "test"})
        aws("delete-queue", "--queue-url", url)
        self.assertNotIn(url, aws_json("list-queues", "--queue-name-prefix", name).get(
            "QueueUrls", []))

    def test_send_receive_delete(self):
        _, url = self.new_queue("msg")
        body = "hello from the CLI ✓"
        attributes = {"s": {"DataType": "String", "StringValue": "v"},
                      "n": {"DataType": "Number", "StringValue": "42"},
                      "b": {"DataType": "Binary", "BinaryValue": "AAE="}}
        sent = aws_json("send-message", "--queue-url", url, "--message-body", body,
                        "--message-attributes", json.dumps(attributes))
        self.assertEqual(sent["MD5OfMessageBody"], md5_of_body(body))
        self.assertRegex(sent["MessageId"], r"^[A-Za-z0-9_-]{1,80}$")

        received = aws_json("receive-message", "--queue-url", url, "--attribute-names", "All",
                            "--message-attribute-names", "All", "--wait-time-seconds", "2",
                            "--max-number-of-messages", "10")
        self.assertEqual(len(received.get("Messages", [])), 1, received)
        message = received["Messages"][0]
        self.assertEqual(message["MessageId"], sent["MessageId"])
        self.assertEqual(message["Body"], body)
        self.assertEqual(message["MD5OfBody"], sent["MD5OfMessageBody"])
        got = message["MessageAttributes"]
        self.assertEqual({k: v["DataType"] for k, v in got.items()},
                         {"s": "String", "n": "Number", "b": "Binary"})
        self.assertEqual((got["s"]["StringValue"], got["n"]["StringValue"]), ("v", "42"))
        # CLI v2 decodes a blob given in JSON from base64; v1 sends the text as it is.
        self.assertIn(base64.b64decode(got["b"]["BinaryValue"]), (b"\x00\x01", b"AAE="))
        self.assertEqual(message["MD5OfMessageAttributes"], md5_of_attributes(got))
        self.assertEqual(message["MD5OfMessageAttributes"], sent["MD5OfMessageAttributes"])
        self.assertEqual(message["Attributes"]["ApproximateReceiveCount"], "1")
        self.assertLess(abs(int(message["Attributes"]["SentTimestamp"]) - time.time() * 1000),
                        60_000)

        aws("delete-message", "--queue-url", url, "--receipt-handle", message["ReceiptHandle"])
        counts = aws_json("get-queue-attributes", "--queue-url", url, "--attribute-names",
                          "ApproximateNumberOfMessages",
                          "ApproximateNumberOfMessagesNotVisible")["Attributes"]
        self.assertEqual(counts, {"ApproximateNumberOfMessages": "0",
                                  "ApproximateNumberOfMessagesNotVisible": "0"})
        self.assert_cli_error("ReceiptHandleIsInvalid", "delete-message", "--queue-url", url,
                              "--receipt-handle", "garbage")

    def test_errors(self):
        done = self.assert_cli_error("AWS.SimpleQueueService.NonExistentQueue", "get-queue-url",
                                     "--queue-name", "cli-never-created")
        self.assertIn("GetQueueUrl", done.stderr)
        self.assertIn(done.returncode, (254, 255))   # v2 254, v1 255 for a service error
        self.assert_cli_error("InvalidAttributeValue", "create-queue", "--queue-name",
                              "cli-bad-attr", "--attributes", "VisibilityTimeout=50000")
        self.assert_cli_error("InvalidAttributeName", "get-queue-attributes", "--queue-url",
                              self.new_queue("err")[1], "--attribute-names", "Foobar")


def main():
    global AWS, ENDPOINT
    argv = sys.argv[:]
    lqsd_path = pop_option(argv, "--lqsd") or os.environ.get("LQSD")
    AWS = pop_option(argv, "--aws") or os.environ.get("LQS_COMPAT_AWS") or shutil.which("aws")
    if not AWS or not os.access(AWS, os.X_OK):
        fail(f"no AWS CLI ({AWS or '`aws` is not on PATH'}): install it (Debian: apt-get "
             "install awscli; or pip install awscli) or pass --aws PATH")
    lqsd = Lqsd(lqsd_path).start()
    ENDPOINT = lqsd.endpoint
    print(f"compat: {AWS} against lqsd at {ENDPOINT}", flush=True)
    ok = False
    try:
        program = unittest.main(argv=argv, exit=False, verbosity=2)
        ok = program.result.wasSuccessful()
    finally:
        status = lqsd.stop(show_log=not ok)
    sys.exit(0 if ok and status in (0, None) else 1)


if __name__ == "__main__":
    main()
