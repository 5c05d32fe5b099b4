#!/usr/bin/env python3
"""lqsd against real boto3/botocore, in either of SQS's two wire protocols.

    test_sqs_compat.py --lqsd PATH --protocol json|query [unittest options, test names]
    test_sqs_compat.py --endpoint http://HOST:PORT --protocol ...   (a server already running)

The protocol is not chosen here: botocore picks it from its own model (JSON from botocore
1.34.90 on, Query before), so the suite runs under two interpreters: the machine's python3
(boto3 1.43, JSON) and Debian's /usr/bin/python3 with python3-boto3 1.26 (Query). --protocol
states what the run is meant to prove; the first test fails if botocore speaks the other one.

botocore validates no SQS MD5 digest (it has no handler for them), so this suite checks every
MD5OfMessageBody / MD5OfBody / MD5OfMessageAttributes itself, with the algorithm of
SQS_REFERENCE §5.3 (itself checked against the AWS-recorded vectors in test_md5_vectors).

Test names say what they need: test_control_* use only the control actions lqsd serves
today; test_message_* need the message actions (SendMessage, ReceiveMessage, ...);
test_fifo_* need FIFO queues (SQS_REFERENCE §4).
Every run starts its own lqsd (lqsd_harness.py) and uses fresh queue names.
"""

import itertools
import os
import re
import sys
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lqsd_harness import Lqsd, fail, pop_option  # noqa: E402
from sqs_md5 import md5_of_attributes, md5_of_body  # noqa: E402

ACCOUNT = "000000000000"
REGION = "us-east-1"
# What botocore must speak for each --protocol, and the botocore versions that do
# (SQS_REFERENCE §5.0): JSON from 1.34.90 on; Query up to 1.29.126 and 1.32.6-1.34.89.
PROTOCOLS = {"json": "json", "query": "query"}
INSTALL_HINT = {
    "json": "boto3/botocore >= 1.34.90 (the machine's python3 has boto3 1.43)",
    "query": "Debian's python3-boto3 1.26 (apt-get install python3-boto3; tools/setup-deps.sh "
             "installs it) and run this file with /usr/bin/python3",
}

PROTOCOL = None   # "json" | "query", from --protocol
ENDPOINT = None   # http://127.0.0.1:PORT of this run's lqsd
LQSD = None

boto3 = None
botocore = None
ClientError = None
Config = None


def arn(name):
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


_names = itertools.count(1)


def unique_name(tag):
    """Queue names are never reused in a run: SQS refuses a name for 60 s after DeleteQueue."""
    return f"{PROTOCOL[0]}-{tag}-{next(_names)}"


BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
SEQUENCE_NUMBER = re.compile(r"^[0-9]{20}$")
# GetQueueAttributes All on a fresh standard queue (LS-validated, SQS_REFERENCE §2.2); a FIFO
# queue adds its four FIFO attributes.
ALL_ATTRIBUTES_STANDARD = frozenset({
    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible", "CreatedTimestamp", "LastModifiedTimestamp",
    "QueueArn", "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout", "SqsManagedSseEnabled"})


def make_client(validate=True):
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x",
                                    region_name=REGION)
    config = Config(retries={"total_max_attempts": 1}, parameter_validation=validate,
                    connect_timeout=5, read_timeout=40)
    return session.client("sqs", endpoint_url=ENDPOINT, config=config)


class RawQuery:
    """The three move-task actions for Query-protocol runs.

    Debian's botocore 1.29.27 predates them (they came in 1.29.148), so on Query they are sent
    as botocore 1.29.148-1.34.89 sent them: a SigV4-signed form POST, parsed from the XML of
    SQS_REFERENCE §5.2. Errors are raised as botocore ClientErrors, shaped as botocore's Query
    parser shapes them, so the same assertions apply to both protocols."""

    def __init__(self):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        self._auth = SigV4Auth(Credentials("x", "x"), "sqs", REGION)
        self._request = AWSRequest

    def call(self, action, params):
        form = {"Action": action, "Version": "2012-11-05"}
        form.update({k: str(v) for k, v in params.items()})
        request = self._request(method="POST", url=ENDPOINT + "/",
                                data=urllib.parse.urlencode(form).encode(),
                                headers={"Content-Type":
                                         "application/x-www-form-urlencoded; charset=utf-8"})
        self._auth.add_auth(request)
        prepared = request.prepare()
        http = urllib.request.Request(prepared.url, data=prepared.body, method="POST",
                                      headers=dict(prepared.headers.items()))
        try:
            with urllib.request.urlopen(http, timeout=30) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        root = ET.fromstring(body)
        strip = lambda tag: tag.rsplit("}", 1)[-1]  # noqa: E731
        if status != 200:
            error = {strip(c.tag): (c.text or "") for c in root.iter() if c is not root}
            raise ClientError({"Error": {"Code": error.get("Code"), "Message":
                                         error.get("Message"), "Type": error.get("Type")},
                               "ResponseMetadata": {"HTTPStatusCode": status}}, action)
        result = next(c for c in root if strip(c.tag) == action + "Result")
        return result, strip

    def start_message_move_task(self, **params):
        result, strip = self.call("StartMessageMoveTask", params)
        return {strip(c.tag): c.text for c in result}

    def cancel_message_move_task(self, **params):
        result, strip = self.call("CancelMessageMoveTask", params)
        out = {strip(c.tag): c.text for c in result}
        out["ApproximateNumberOfMessagesMoved"] = int(out["ApproximateNumberOfMessagesMoved"])
        return out

    def list_message_move_tasks(self, **params):
        result, strip = self.call("ListMessageMoveTasks", params)
        entries = []
        for entry in result:
            fields = {strip(c.tag): c.text for c in entry}
            for key in ("ApproximateNumberOfMessagesMoved", "ApproximateNumberOfMessagesToMove",
                        "MaxNumberOfMessagesPerSecond", "StartedTimestamp"):
                if key in fields:
                    fields[key] = int(fields[key])
            entries.append(fields)
        return {"Results": entries}


class SqsCompat(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.sqs = make_client()
        cls.raw = make_client(validate=False)   # for requests botocore itself would refuse
        cls.moves = cls.sqs if PROTOCOL == "json" else RawQuery()

    # --- helpers ---------------------------------------------------------------------------

    def new_queue(self, tag, attributes=None, tags=None):
        name = unique_name(tag)
        kwargs = {"QueueName": name}
        if attributes:
            kwargs["Attributes"] = attributes
        if tags:
            kwargs["tags"] = tags
        url = self.sqs.create_queue(**kwargs)["QueueUrl"]
        self.assertEqual(url, f"{ENDPOINT}/{ACCOUNT}/{name}")
        return name, url

    def new_fifo_queue(self, tag, attributes=None):
        """A FIFO queue: a .fifo name and FifoQueue=true (SQS_REFERENCE §1.3, §2.1)."""
        name = unique_name(tag) + ".fifo"
        url = self.sqs.create_queue(QueueName=name, Attributes={
            "FifoQueue": "true", **(attributes or {})})["QueueUrl"]
        self.assertEqual(url, f"{ENDPOINT}/{ACCOUNT}/{name}")
        return name, url

    def send_fifo(self, url, body, group, dedup=None, **kwargs):
        """SendMessage to a FIFO queue, with the response's digests and SequenceNumber checked."""
        if dedup is not None:
            kwargs["MessageDeduplicationId"] = dedup
        response = self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group,
                                         **kwargs)
        self.check_sent(response, body, kwargs.get("MessageAttributes"), fifo=True)
        return response

    def assert_error(self, code, status, call, *args, shape=None, **kwargs):
        """Calls call(*args, **kwargs), which must fail with `code` (the legacy code both
        protocols surface in Error.Code) and HTTP `status`. With `shape`, also checks the
        JSON shape name (Error.QueryErrorCode) and, when the client's model has that error,
        that botocore raised its modeled exception class."""
        try:
            call(*args, **kwargs)
        except ClientError as e:
            err = e.response["Error"]
            context = f"{getattr(call, '__name__', call)}: {e.response}"
            self.assertEqual(err.get("Code"), code, context)
            self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], status, context)
            self.assertEqual(err.get("Type"), "Sender", context)
            self.assertTrue(err.get("Message"), context)
            client = getattr(call, "__self__", None)
            if shape and isinstance(client, botocore.client.BaseClient):
                if PROTOCOL == "json":
                    self.assertEqual(err.get("QueryErrorCode"), shape, context)
                modeled = {s.name for s in client.meta.service_model.error_shapes}
                if shape in modeled:
                    self.assertIsInstance(e, getattr(client.exceptions, shape), context)
            return err
        self.fail(f"{getattr(call, '__name__', call)} succeeded; expected {code} ({status})")

    def check_sent(self, response, body, attributes=None, fifo=False):
        if "Id" not in response:  # a batch entry has no metadata of its own
            self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(response["MD5OfMessageBody"], md5_of_body(body))
        if attributes:
            self.assertEqual(response["MD5OfMessageAttributes"], md5_of_attributes(attributes))
        else:
            self.assertNotIn("MD5OfMessageAttributes", response)
        if fifo:   # a 128-bit number as a decimal string of about 20 digits (§4)
            self.assertRegex(response["SequenceNumber"], SEQUENCE_NUMBER)
        else:
            self.assertNotIn("SequenceNumber", response)
        # sqs-consumer uses MessageId as a batch entry Id (SQS_REFERENCE §2.3).
        self.assertRegex(response["MessageId"], BATCH_ID)

    def check_received(self, message):
        """The digests a careful client (Java, .NET, PHP) would check on every message."""
        self.assertEqual(message["MD5OfBody"], md5_of_body(message["Body"]))
        if "MessageAttributes" in message:
            self.assertTrue(message["MessageAttributes"], "empty MessageAttributes sent")
            self.assertEqual(message["MD5OfMessageAttributes"],
                             md5_of_attributes(message["MessageAttributes"]))
        else:
            self.assertNotIn("MD5OfMessageAttributes", message)
        self.assertTrue(0 < len(message["ReceiptHandle"]) <= 1024)
        self.assertRegex(message["MessageId"], BATCH_ID)

    def receive(self, url, **kwargs):
        kwargs.setdefault("WaitTimeSeconds", 0)
        response = self.sqs.receive_message(QueueUrl=url, **kwargs)
        messages = response.get("Messages", [])
        for m in messages:
            self.check_received(m)
        return messages

    def receive_n(self, url, count, timeout_s=5.0, **kwargs):
        """Receives until `count` messages came back (short SQS samples may return fewer)."""
        got = []
        deadline = time.monotonic() + timeout_s
        while len(got) < count and time.monotonic() < deadline:
            got += self.receive(url, MaxNumberOfMessages=min(10, count - len(got)),
                                WaitTimeSeconds=1, **kwargs)
        self.assertEqual(len(got), count, f"received {[m['Body'] for m in got]}")
        return got

    def queue_attributes(self, url, *names):
        response = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names))
        return response.get("Attributes", {})

    def counts(self, url):
        a = self.queue_attributes(url, "ApproximateNumberOfMessages",
                                  "ApproximateNumberOfMessagesNotVisible",
                                  "ApproximateNumberOfMessagesDelayed")
        return (int(a["ApproximateNumberOfMessages"]),
                int(a["ApproximateNumberOfMessagesNotVisible"]),
                int(a["ApproximateNumberOfMessagesDelayed"]))

    def wait_move_task(self, source_arn, timeout_s=15.0):
        deadline = time.monotonic() + timeout_s
        while True:
            results = self.moves.list_message_move_tasks(SourceArn=source_arn)["Results"]
            self.assertTrue(results, "ListMessageMoveTasks returned no task")
            if results[0]["Status"] != "RUNNING" or time.monotonic() > deadline:
                return results[0]
            time.sleep(0.2)

    # --- the client itself -----------------------------------------------------------------

    def test_client_speaks_expected_protocol(self):
        model = self.sqs.meta.service_model
        self.assertEqual(model.protocol, PROTOCOLS[PROTOCOL],
                         f"botocore {botocore.__version__} at {botocore.__file__} speaks "
                         f"{model.protocol}; this run was meant to prove {PROTOCOL}")

    def test_md5_vectors(self):
        # AWS-recorded vectors (SQS_REFERENCE §5.3): the checker used everywhere below.
        self.assertEqual(md5_of_body("msg"), "6e2baaf3b97dbeef01c0043275f9a0e7")
        s = lambda v: {"DataType": "String", "StringValue": v}  # noqa: E731
        self.assertEqual(md5_of_attributes({"Foo": s("Bar")}), "ae7155c6026991b6d54b11589678bf9c")
        three = {"Help.Me": s("Me"), "Hello": s("There"), "General": s("Kenobi")}
        self.assertEqual(md5_of_attributes(three), "4c360f3fdafd970e05fae2f149d997f5")
        self.assertEqual(md5_of_attributes({"timestamp": {"DataType": "Number",
                                                          "StringValue": "1493147359900"}}),
                         "235c5c510d26fb653d073faed50ae77c")
        trace = b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01"
        self.assertEqual(md5_of_attributes({"attr1": {"DataType": "Binary",
                                                      "BinaryValue": trace}}),
                         "8cbe4db156db8a94db8b801b7addb984")

    # --- control actions (served by lqsd today) --------------------------------------------

    def test_control_create_get_url_list_delete(self):
        name, url = self.new_queue("life", {"VisibilityTimeout": "45"})
        # Idempotent: same attributes, or none at all, give the same URL.
        self.assertEqual(self.sqs.create_queue(QueueName=name, Attributes={
            "VisibilityTimeout": "45"})["QueueUrl"], url)
        self.assertEqual(self.sqs.create_queue(QueueName=name)["QueueUrl"], url)
        self.assert_error("QueueAlreadyExists", 400, self.sqs.create_queue, QueueName=name,
                          Attributes={"VisibilityTimeout": "46"}, shape="QueueNameExists")
        self.assertEqual(self.sqs.get_queue_url(QueueName=name)["QueueUrl"], url)
        self.assertEqual(self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=ACCOUNT)
                         ["QueueUrl"], url)
        self.assertIn(url, self.sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", []))

        self.sqs.delete_queue(QueueUrl=url)
        self.assertNotIn(url, self.sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", []))
        self.assert_error("AWS.SimpleQueueService.NonExistentQueue", 400,
                          self.sqs.get_queue_url, QueueName=name, shape="QueueDoesNotExist")
        self.assert_error("AWS.SimpleQueueService.NonExistentQueue", 400,
                          self.sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["All"],
                          shape="QueueDoesNotExist")
        self.assert_error("AWS.SimpleQueueService.NonExistentQueue", 400,
                          self.sqs.delete_queue, QueueUrl=url, shape="QueueDoesNotExist")
        self.assert_error("AWS.SimpleQueueService.QueueDeletedRecently", 400,
                          self.sqs.create_queue, QueueName=name, shape="QueueDeletedRecently")

    def test_control_create_queue_invalid_name(self):
        for bad in ("has space", "x" * 81, "dot.name"):
            self.assert_error("InvalidParameterValue", 400, self.sqs.create_queue,
                              QueueName=bad, shape="InvalidParameterValueException")

    def test_control_get_queue_attributes(self):
        before = int(time.time())
        name, url = self.new_queue("attrs")
        attributes = self.queue_attributes(url, "All")
        self.assertEqual(set(attributes), ALL_ATTRIBUTES_STANDARD)
        expected = {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesDelayed": "0",
                    "ApproximateNumberOfMessagesNotVisible": "0", "QueueArn": arn(name),
                    "DelaySeconds": "0", "MaximumMessageSize": "1048576",
                    "MessageRetentionPeriod": "345600", "ReceiveMessageWaitTimeSeconds": "0",
                    "VisibilityTimeout": "30", "SqsManagedSseEnabled": "true"}
        self.assertEqual({k: attributes[k] for k in expected}, expected)
        created = int(attributes["CreatedTimestamp"])   # epoch seconds
        self.assertTrue(before - 2 <= created <= time.time() + 2, attributes)

        # Named attributes only; no names at all gives no attributes (SQS_REFERENCE §1.3).
        self.assertEqual(self.queue_attributes(url, "VisibilityTimeout", "QueueArn"),
                         {"VisibilityTimeout": "30", "QueueArn": arn(name)})
        self.assertEqual(self.sqs.get_queue_attributes(QueueUrl=url).get("Attributes", {}), {})
        err = self.assert_error("InvalidAttributeName", 400, self.sqs.get_queue_attributes,
                                QueueUrl=url, AttributeNames=["Foobar"],
                                shape="InvalidAttributeName")
        self.assertIn("Foobar", err["Message"])

    def test_control_set_queue_attributes(self):
        _, url = self.new_queue("setattrs")
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={
            "VisibilityTimeout": "45", "DelaySeconds": "3", "MessageRetentionPeriod": "600",
            "ReceiveMessageWaitTimeSeconds": "2", "MaximumMessageSize": "2048"})
        self.assertEqual(self.queue_attributes(
            url, "VisibilityTimeout", "DelaySeconds", "MessageRetentionPeriod",
            "ReceiveMessageWaitTimeSeconds", "MaximumMessageSize"),
            {"VisibilityTimeout": "45", "DelaySeconds": "3", "MessageRetentionPeriod": "600",
             "ReceiveMessageWaitTimeSeconds": "2", "MaximumMessageSize": "2048"})
        for attribute, value in (("VisibilityTimeout", "50000"), ("DelaySeconds", "901"),
                                 ("MessageRetentionPeriod", "59"),
                                 ("ReceiveMessageWaitTimeSeconds", "21"),
                                 ("MaximumMessageSize", "1023")):
            err = self.assert_error("InvalidAttributeValue", 400,
                                    self.sqs.set_queue_attributes, QueueUrl=url,
                                    Attributes={attribute: value}, shape="InvalidAttributeValue")
            self.assertIn(attribute, err["Message"])
        self.assert_error("InvalidAttributeName", 400, self.sqs.set_queue_attributes,
                          QueueUrl=url, Attributes={"NoSuchAttribute": "1"},
                          shape="InvalidAttributeName")
        self.assert_error("InvalidAttributeValue", 400, self.sqs.create_queue,
                          QueueName=unique_name("badattr"),
                          Attributes={"VisibilityTimeout": "50000"},
                          shape="InvalidAttributeValue")
        self.assertEqual(self.queue_attributes(url, "VisibilityTimeout"),
                         {"VisibilityTimeout": "45"})

    def test_control_list_queues_pagination(self):
        prefix = unique_name("page")
        urls = {self.sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5)}
        everything = self.sqs.list_queues(QueueNamePrefix=prefix)
        self.assertEqual(set(everything["QueueUrls"]), urls)
        self.assertNotIn("NextToken", everything)   # only with MaxResults (§1.3)

        seen, token, pages = [], None, 0
        while True:
            kwargs = {"QueueNamePrefix": prefix, "MaxResults": 2}
            if token:
                kwargs["NextToken"] = token
            page = self.sqs.list_queues(**kwargs)
            pages += 1
            self.assertLessEqual(len(page.get("QueueUrls", [])), 2)
            seen += page.get("QueueUrls", [])
            token = page.get("NextToken")
            if not token:
                break
            self.assertLess(pages, 10, "NextToken never ends")
        self.assertEqual(sorted(seen), sorted(urls))
        self.assertEqual(pages, 3)
        self.assertEqual(self.sqs.list_queues(QueueNamePrefix=prefix + "-none").get(
            "QueueUrls", []), [])

    def test_control_tags(self):
        _, url = self.new_queue("tags", tags={"team": "payments", "env": "test"})
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"],
                         {"team": "payments", "env": "test"})
        self.sqs.tag_queue(QueueUrl=url, Tags={"team": "orders", "cost-center": "42"})
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"],
                         {"team": "orders", "env": "test", "cost-center": "42"})
        self.sqs.untag_queue(QueueUrl=url, TagKeys=["env", "not-there"])
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"],
                         {"team": "orders", "cost-center": "42"})
        self.sqs.untag_queue(QueueUrl=url, TagKeys=["team", "cost-center"])
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url).get("Tags", {}), {})
        self.assert_error("AWS.SimpleQueueService.NonExistentQueue", 400,
                          self.sqs.list_queue_tags, QueueUrl=url + "-gone",
                          shape="QueueDoesNotExist")

    def test_control_permissions(self):
        name, url = self.new_queue("perm")
        self.sqs.add_permission(QueueUrl=url, Label="allow-sends",
                                AWSAccountIds=["111122223333"], Actions=["SendMessage"])
        policy = self.queue_attributes(url, "Policy")["Policy"]
        self.assertIn("allow-sends", policy)
        self.assertIn("sqs:sendmessage", policy.lower())
        self.assertIn(arn(name), policy)
        self.assert_error("InvalidParameterValue", 400, self.sqs.add_permission, QueueUrl=url,
                          Label="allow-sends", AWSAccountIds=["111122223333"],
                          Actions=["ReceiveMessage"], shape="InvalidParameterValueException")
        self.sqs.remove_permission(QueueUrl=url, Label="allow-sends")
        self.assertNotIn("allow-sends", self.queue_attributes(url, "All").get("Policy", ""))
        self.assert_error("InvalidParameterValue", 400, self.sqs.remove_permission,
                          QueueUrl=url, Label="allow-sends",
                          shape="InvalidParameterValueException")

    def test_control_purge_in_progress(self):
        _, url = self.new_queue("purge1")
        self.sqs.purge_queue(QueueUrl=url)
        err = self.assert_error("AWS.SimpleQueueService.PurgeQueueInProgress", 403,
                                self.sqs.purge_queue, QueueUrl=url, shape="PurgeQueueInProgress")
        self.assertIn("60 seconds", err["Message"])

    def test_control_missing_parameter(self):
        # botocore refuses to send these itself; the client without validation sends them.
        self.assert_error("MissingParameter", 400, self.raw.get_queue_url,
                          shape="MissingRequiredParameterException")
        self.assert_error("MissingParameter", 400, self.raw.create_queue,
                          shape="MissingRequiredParameterException")

    def test_control_dead_letter_sources_and_empty_move_task(self):
        dlq_name, dlq_url = self.new_queue("dlq0")
        src_name, src_url = self.new_queue("src0", {"RedrivePolicy": (
            f'{{"deadLetterTargetArn":"{arn(dlq_name)}","maxReceiveCount":1}}')})
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)["queueUrls"],
                         [src_url])
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=src_url).get(
            "queueUrls", []), [])
        handle = self.moves.start_message_move_task(SourceArn=arn(dlq_name))["TaskHandle"]
        self.assertTrue(handle)
        task = self.wait_move_task(arn(dlq_name))
        self.assertEqual(task["Status"], "COMPLETED", task)
        self.assertEqual(task["SourceArn"], arn(dlq_name))
        self.assertEqual(task["ApproximateNumberOfMessagesMoved"], 0)
        self.assertNotIn("TaskHandle", task)   # only while RUNNING (§1.3)

        self.assert_error("InvalidParameterValue", 400, self.moves.start_message_move_task,
                          SourceArn=arn(src_name), shape="InvalidParameterValueException")
        self.assert_error("ResourceNotFoundException", 404, self.moves.start_message_move_task,
                          SourceArn=arn(unique_name("nosuchqueue")),
                          shape="ResourceNotFoundException")
        self.assert_error("AWS.SimpleQueueService.NonExistentQueue", 400,
                          self.sqs.list_dead_letter_source_queues,
                          QueueUrl=dlq_url + "-gone", shape="QueueDoesNotExist")

    # --- message actions -------------------------------------------------------------------

    def test_message_send_receive_delete(self):
        _, url = self.new_queue("basic")
        bodies = ["hello", "héllo ✓ 𝄞 <xml> &amp; ]]>", '"&quot;&quot;\r', "tab\tnew\nline"]
        sent = {}
        for body in bodies:
            response = self.sqs.send_message(QueueUrl=url, MessageBody=body)
            self.check_sent(response, body)
            sent[response["MessageId"]] = body
        self.assertEqual(self.counts(url), (len(bodies), 0, 0))
        messages = self.receive_n(url, len(bodies), VisibilityTimeout=30)
        self.assertEqual({m["MessageId"]: m["Body"] for m in messages}, sent)
        for m in messages:
            self.assertNotIn("Attributes", m)          # none asked for
            self.assertNotIn("MessageAttributes", m)
        self.assertEqual(self.counts(url), (0, len(bodies), 0))
        self.assertEqual(self.receive(url), [])
        for m in messages:
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        # Deleting the same handle again succeeds (§1.3).
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
        self.assertEqual(self.counts(url), (0, 0, 0))

    def test_message_attributes_types_and_md5(self):
        _, url = self.new_queue("mattr")
        attributes = {
            "s": {"DataType": "String", "StringValue": "Bar ✓"},
            "n": {"DataType": "Number", "StringValue": "1493147359900"},
            "n2": {"DataType": "Number.int", "StringValue": "-42"},
            "b": {"DataType": "Binary", "BinaryValue": bytes(range(256))},
            "b2": {"DataType": "Binary.png", "BinaryValue": b"\x89PNG\r\n"},
        }
        response = self.sqs.send_message(QueueUrl=url, MessageBody="typed",
                                         MessageAttributes=attributes)
        self.check_sent(response, "typed", attributes)
        message = self.receive(url, MessageAttributeNames=["All"], WaitTimeSeconds=2)[0]
        self.assertEqual(message["MessageAttributes"], attributes)
        self.assertEqual(message["MD5OfMessageAttributes"], response["MD5OfMessageAttributes"])

    def test_message_attribute_filters(self):
        _, url = self.new_queue("mfilter", {"VisibilityTimeout": "0"})
        s = lambda v: {"DataType": "String", "StringValue": v}  # noqa: E731
        attributes = {"Help.Me": s("Me"), "Hello": s("There"), "General": s("Kenobi")}
        response = self.sqs.send_message(QueueUrl=url, MessageBody="filters",
                                         MessageAttributes=attributes)
        self.assertEqual(response["MD5OfMessageAttributes"], "4c360f3fdafd970e05fae2f149d997f5")
        cases = [
            (["All"], attributes, "4c360f3fdafd970e05fae2f149d997f5"),
            ([".*"], attributes, "4c360f3fdafd970e05fae2f149d997f5"),
            (["Hello", "General", "Missing"], {"Hello": attributes["Hello"],
                                               "General": attributes["General"]},
             "fca026605781cb4126a1e9044df24232"),
            (["Hello"], {"Hello": attributes["Hello"]}, "a311262e065454b75da111d535b8dacd"),
            (["Hel.*"], {"Hello": attributes["Hello"], "Help.Me": attributes["Help.Me"]}, None),
            (["Nope", "AWS.x"], None, None),
            ([], None, None),
        ]
        for names, expected, md5 in cases:
            with self.subTest(names=names):
                message = self.receive(url, MessageAttributeNames=names, WaitTimeSeconds=2)[0]
                if expected is None:
                    self.assertNotIn("MessageAttributes", message)
                    self.assertNotIn("MD5OfMessageAttributes", message)
                else:
                    self.assertEqual(message["MessageAttributes"], expected)
                    if md5:
                        self.assertEqual(message["MD5OfMessageAttributes"], md5)
        message = self.receive(url, WaitTimeSeconds=2)[0]   # no filter at all
        self.assertNotIn("MessageAttributes", message)

    def test_message_system_attribute_filters(self):
        _, url = self.new_queue("sysattr", {"VisibilityTimeout": "0"})
        before_ms = int(time.time() * 1000)
        self.sqs.send_message(QueueUrl=url, MessageBody="sys")
        after_ms = int(time.time() * 1000)

        every = self.receive(url, AttributeNames=["All"], WaitTimeSeconds=2)[0]["Attributes"]
        self.assertLessEqual({"SenderId", "SentTimestamp", "ApproximateReceiveCount",
                              "ApproximateFirstReceiveTimestamp"}, set(every))
        for fifo_only in ("SequenceNumber", "MessageDeduplicationId", "MessageGroupId",
                          "DeadLetterQueueSourceArn"):
            self.assertNotIn(fifo_only, every)
        sent_ms = int(every["SentTimestamp"])
        self.assertTrue(before_ms - 1000 <= sent_ms <= after_ms + 1000, every)
        self.assertEqual(every["ApproximateReceiveCount"], "1")
        self.assertGreaterEqual(int(every["ApproximateFirstReceiveTimestamp"]), sent_ms)

        one = self.receive(url, AttributeNames=["SentTimestamp"], WaitTimeSeconds=2)[0]
        self.assertEqual(one["Attributes"], {"SentTimestamp": every["SentTimestamp"]})
        one = self.receive(url, AttributeNames=["ApproximateReceiveCount"], WaitTimeSeconds=2)[0]
        self.assertEqual(one["Attributes"], {"ApproximateReceiveCount": "3"})
        none = self.receive(url, WaitTimeSeconds=2)[0]
        self.assertNotIn("Attributes", none)
        if PROTOCOL != "json":
            return   # MessageSystemAttributeNames is not in any Query-era model (§5.2)
        two = self.receive(url, MessageSystemAttributeNames=["ApproximateReceiveCount",
                                                             "SentTimestamp"],
                           WaitTimeSeconds=2)[0]["Attributes"]
        self.assertEqual(two, {"ApproximateReceiveCount": "5",
                               "SentTimestamp": every["SentTimestamp"]})
        union = self.receive(url, MessageSystemAttributeNames=["All"],
                             AttributeNames=["SenderId"], WaitTimeSeconds=2)[0]["Attributes"]
        self.assertEqual(set(union), set(every))
        fifo = self.receive(url, MessageSystemAttributeNames=["SequenceNumber"],
                            WaitTimeSeconds=2)[0]
        self.assertEqual(fifo.get("Attributes", {}), {})

    def test_message_send_batch_partial_failures(self):
        _, url = self.new_queue("sbatch", {"MaximumMessageSize": "1024"})
        attrs = {"k": {"DataType": "String", "StringValue": "v"}}
        entries = [
            {"Id": "ok-1", "MessageBody": "first", "MessageAttributes": attrs},
            {"Id": "too_long", "MessageBody": "x" * 1025},
            {"Id": "bad-char", "MessageBody": "nul \x00 here"},
            {"Id": "exactly_max", "MessageBody": "y" * 1024},
            {"Id": "ok-2", "MessageBody": "second", "DelaySeconds": 0},
        ]
        response = self.sqs.send_message_batch(QueueUrl=url, Entries=entries)
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 200)
        ok = {e["Id"]: e for e in response["Successful"]}
        self.assertEqual(set(ok), {"ok-1", "exactly_max", "ok-2"})
        by_id = {e["Id"]: e for e in entries}
        for entry_id, result in ok.items():
            self.check_sent(result, by_id[entry_id]["MessageBody"],
                            by_id[entry_id].get("MessageAttributes"))
        failed = {e["Id"]: e for e in response["Failed"]}
        self.assertEqual(set(failed), {"too_long", "bad-char"})
        self.assertEqual(failed["too_long"]["Code"], "InvalidParameterValue")
        self.assertEqual(failed["bad-char"]["Code"], "InvalidMessageContents")
        for f in failed.values():
            self.assertIs(f["SenderFault"], True)
            self.assertTrue(f.get("Message"))
        received = self.receive_n(url, 3, MessageAttributeNames=["All"])
        self.assertEqual(sorted(m["Body"] for m in received), sorted(
            by_id[i]["MessageBody"] for i in ok))

    def test_message_batch_request_errors(self):
        _, url = self.new_queue("batcherr")
        one = lambda i: {"Id": f"m{i}", "MessageBody": f"b{i}"}  # noqa: E731
        self.assert_error("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400,
                          self.raw.send_message_batch, QueueUrl=url,
                          Entries=[one(i) for i in range(11)],
                          shape="TooManyEntriesInBatchRequest")
        self.assert_error("AWS.SimpleQueueService.EmptyBatchRequest", 400,
                          self.raw.send_message_batch, QueueUrl=url, Entries=[],
                          shape="EmptyBatchRequest")
        self.assert_error("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400,
                          self.raw.send_message_batch, QueueUrl=url,
                          Entries=[one(1), one(2), one(1)], shape="BatchEntryIdsNotDistinct")
        self.assert_error("AWS.SimpleQueueService.InvalidBatchEntryId", 400,
                          self.raw.send_message_batch, QueueUrl=url,
                          Entries=[{"Id": "not valid!", "MessageBody": "x"}],
                          shape="InvalidBatchEntryId")
        self.assert_error("AWS.SimpleQueueService.EmptyBatchRequest", 400,
                          self.raw.delete_message_batch, QueueUrl=url, Entries=[],
                          shape="EmptyBatchRequest")
        self.assert_error("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400,
                          self.raw.change_message_visibility_batch, QueueUrl=url,
                          Entries=[{"Id": f"h{i}", "ReceiptHandle": "x",
                                    "VisibilityTimeout": 0} for i in range(11)],
                          shape="TooManyEntriesInBatchRequest")
        self.assert_error("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400,
                          self.raw.delete_message_batch, QueueUrl=url,
                          Entries=[{"Id": "same", "ReceiptHandle": "a"},
                                   {"Id": "same", "ReceiptHandle": "b"}],
                          shape="BatchEntryIdsNotDistinct")
        self.assertEqual(self.counts(url), (0, 0, 0))   # nothing of a refused batch was sent

    def test_message_delete_batch_with_bad_handle(self):
        _, url = self.new_queue("dbatch")
        self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "MessageBody": "A"}, {"Id": "b", "MessageBody": "B"}])
        messages = self.receive_n(url, 2, VisibilityTimeout=30)
        response = self.sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": "first", "ReceiptHandle": messages[0]["ReceiptHandle"]},
            {"Id": "garbage", "ReceiptHandle": "garbage"},
            {"Id": "second", "ReceiptHandle": messages[1]["ReceiptHandle"]}])
        self.assertEqual({e["Id"] for e in response["Successful"]}, {"first", "second"})
        self.assertEqual(len(response["Failed"]), 1)
        failed = response["Failed"][0]
        self.assertEqual((failed["Id"], failed["Code"], failed["SenderFault"]),
                         ("garbage", "ReceiptHandleIsInvalid", True))
        self.assertEqual(self.counts(url), (0, 0, 0))

    def test_message_change_visibility(self):
        _, url = self.new_queue("vis")
        self.sqs.send_message(QueueUrl=url, MessageBody="v")
        first = self.receive(url, VisibilityTimeout=30, WaitTimeSeconds=2,
                             AttributeNames=["ApproximateReceiveCount"])[0]
        self.assertEqual(self.receive(url), [])
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"],
                                           VisibilityTimeout=0)
        again = self.receive(url, VisibilityTimeout=30, WaitTimeSeconds=2,
                             AttributeNames=["ApproximateReceiveCount"])[0]
        self.assertEqual(again["MessageId"], first["MessageId"])
        self.assertEqual(again["Attributes"]["ApproximateReceiveCount"], "2")
        self.assertNotEqual(again["ReceiptHandle"], first["ReceiptHandle"])
        self.assert_error("InvalidParameterValue", 400, self.sqs.change_message_visibility,
                          QueueUrl=url, ReceiptHandle=again["ReceiptHandle"],
                          VisibilityTimeout=50000, shape="InvalidParameterValueException")
        self.assert_error("ReceiptHandleIsInvalid", 404, self.sqs.change_message_visibility,
                          QueueUrl=url, ReceiptHandle="garbage", VisibilityTimeout=10,
                          shape="ReceiptHandleIsInvalid")
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
        err = self.assert_error("InvalidParameterValue", 400,
                                self.sqs.change_message_visibility, QueueUrl=url,
                                ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=10,
                                shape="InvalidParameterValueException")
        self.assertIn("ReceiptHandle", err["Message"])

    def test_message_change_visibility_batch(self):
        _, url = self.new_queue("visbatch")
        self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "MessageBody": "A"}, {"Id": "b", "MessageBody": "B"}])
        messages = self.receive_n(url, 2, VisibilityTimeout=30)
        response = self.sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": "x", "ReceiptHandle": messages[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "y", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
            {"Id": "z", "ReceiptHandle": messages[1]["ReceiptHandle"], "VisibilityTimeout": 0}])
        self.assertEqual({e["Id"] for e in response["Successful"]}, {"x", "z"})
        self.assertEqual([(f["Id"], f["Code"]) for f in response["Failed"]],
                         [("y", "ReceiptHandleIsInvalid")])
        again = self.receive_n(url, 2, AttributeNames=["ApproximateReceiveCount"])
        self.assertEqual(sorted(m["Body"] for m in again), ["A", "B"])
        self.assertEqual({m["Attributes"]["ApproximateReceiveCount"] for m in again}, {"2"})

    def test_message_visibility_timeout_expiry(self):
        _, url = self.new_queue("expiry", {"VisibilityTimeout": "1"})
        self.sqs.send_message(QueueUrl=url, MessageBody="comes back")
        first = self.receive(url, WaitTimeSeconds=2)[0]
        self.assertEqual(self.receive(url), [])
        time.sleep(1.3)
        again = self.receive(url, WaitTimeSeconds=3, AttributeNames=["ApproximateReceiveCount"],
                             VisibilityTimeout=30)[0]
        self.assertEqual(again["MessageId"], first["MessageId"])
        self.assertEqual(again["Attributes"]["ApproximateReceiveCount"], "2")
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
        self.assertEqual(self.counts(url), (0, 0, 0))

    def test_message_delay_per_message(self):
        _, url = self.new_queue("delay1")
        sent_at = time.monotonic()
        self.sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=2)
        self.assertEqual(self.receive(url), [])
        self.assertEqual(self.counts(url), (0, 0, 1))
        message = self.receive(url, WaitTimeSeconds=5)
        waited = time.monotonic() - sent_at
        self.assertEqual([m["Body"] for m in message], ["later"])
        self.assertGreaterEqual(waited, 1.8)
        self.assertLess(waited, 4.5, "a long poll must wake when a delayed message is due")

    def test_message_delay_queue_default(self):
        _, url = self.new_queue("delayq", {"DelaySeconds": "2"})
        sent_at = time.monotonic()
        self.sqs.send_message(QueueUrl=url, MessageBody="queue-delayed")
        self.sqs.send_message(QueueUrl=url, MessageBody="not delayed", DelaySeconds=0)
        self.assertEqual([m["Body"] for m in self.receive(url, WaitTimeSeconds=1)],
                         ["not delayed"])
        self.assertEqual(self.counts(url)[2], 1)
        message = self.receive(url, WaitTimeSeconds=5)
        self.assertEqual([m["Body"] for m in message], ["queue-delayed"])
        self.assertGreaterEqual(time.monotonic() - sent_at, 1.8)

    def test_message_long_poll_wakes_on_send(self):
        _, url = self.new_queue("longpoll")
        result = {}

        def poll():
            poller = make_client()   # its own connection, as a separate consumer would have
            started = time.monotonic()
            try:
                response = poller.receive_message(QueueUrl=url, WaitTimeSeconds=10)
            except ClientError as e:
                result["error"] = e
                return
            result["done"] = time.monotonic()
            result["waited"] = result["done"] - started
            result["messages"] = response.get("Messages", [])

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        time.sleep(1.0)
        sender = make_client()
        sent_at = time.monotonic()
        sender.send_message(QueueUrl=url, MessageBody="wake up")
        thread.join(15)
        self.assertFalse(thread.is_alive(), "the long poll never returned")
        self.assertNotIn("error", result, f"the long poll failed: {result.get('error')}")
        self.assertEqual([m["Body"] for m in result["messages"]], ["wake up"], result)
        self.assertLess(result["done"] - sent_at, 2.5, result)
        self.assertLess(result["waited"], 5.0, result)

    def test_message_long_poll_waits(self):
        _, url = self.new_queue("emptypoll", {"ReceiveMessageWaitTimeSeconds": "1"})
        started = time.monotonic()
        self.assertEqual(self.receive(url, WaitTimeSeconds=1), [])
        self.assertGreaterEqual(time.monotonic() - started, 0.9)
        started = time.monotonic()   # the queue's ReceiveMessageWaitTimeSeconds when omitted
        self.assertEqual(self.sqs.receive_message(QueueUrl=url).get("Messages", []), [])
        self.assertGreaterEqual(time.monotonic() - started, 0.9)

    def test_message_dead_letter_and_move_back(self):
        dlq_name, dlq_url = self.new_queue("dlq")
        src_name, src_url = self.new_queue("src", {"RedrivePolicy": (
            f'{{"deadLetterTargetArn":"{arn(dlq_name)}","maxReceiveCount":"1"}}')})
        attrs = {"kind": {"DataType": "String", "StringValue": "poison"}}
        sent = self.sqs.send_message(QueueUrl=src_url, MessageBody="poison pill",
                                     MessageAttributes=attrs)
        first = self.receive(src_url, WaitTimeSeconds=2, VisibilityTimeout=0)
        self.assertEqual([m["MessageId"] for m in first], [sent["MessageId"]])
        # The receive after maxReceiveCount moves it instead of returning it.
        self.assertEqual(self.receive(src_url, WaitTimeSeconds=1), [])
        dead = self.receive(dlq_url, WaitTimeSeconds=3, VisibilityTimeout=0,
                            AttributeNames=["All"], MessageAttributeNames=["All"])
        self.assertEqual(len(dead), 1)
        self.assertEqual(dead[0]["MessageId"], sent["MessageId"])
        self.assertEqual(dead[0]["Body"], "poison pill")
        self.assertEqual(dead[0]["MessageAttributes"], attrs)
        self.assertEqual(dead[0]["Attributes"]["DeadLetterQueueSourceArn"], arn(src_name))
        self.assertEqual(dead[0]["Attributes"]["ApproximateReceiveCount"], "2")
        self.assertEqual(self.counts(src_url), (0, 0, 0))

        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)["queueUrls"],
                         [src_url])
        # Without DestinationArn, messages go back to the queue they came from.
        self.moves.start_message_move_task(SourceArn=arn(dlq_name))
        task = self.wait_move_task(arn(dlq_name))
        self.assertEqual(task["Status"], "COMPLETED", task)
        self.assertEqual(task["ApproximateNumberOfMessagesMoved"], 1, task)
        back = self.receive(src_url, WaitTimeSeconds=3, MessageAttributeNames=["All"])
        self.assertEqual([m["Body"] for m in back], ["poison pill"])
        self.assertEqual(back[0]["MessageAttributes"], attrs)
        self.assertEqual(self.counts(dlq_url), (0, 0, 0))

    def test_message_move_task_cancel(self):
        dlq_name, dlq_url = self.new_queue("dlqc")
        dest_name, dest_url = self.new_queue("destc")
        self.new_queue("srcc", {"RedrivePolicy": (
            f'{{"deadLetterTargetArn":"{arn(dlq_name)}","maxReceiveCount":3}}')})
        self.sqs.send_message_batch(QueueUrl=dlq_url, Entries=[
            {"Id": f"m{i}", "MessageBody": f"dead {i}"} for i in range(6)])
        handle = self.moves.start_message_move_task(
            SourceArn=arn(dlq_name), DestinationArn=arn(dest_name),
            MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
        running = self.moves.list_message_move_tasks(SourceArn=arn(dlq_name))["Results"][0]
        self.assertEqual(running["Status"], "RUNNING", running)
        self.assertEqual(running["TaskHandle"], handle)
        self.assertEqual(running["DestinationArn"], arn(dest_name))
        self.assertEqual(running["MaxNumberOfMessagesPerSecond"], 1)
        self.assert_error("InvalidParameterValue", 400, self.moves.start_message_move_task,
                          SourceArn=arn(dlq_name), shape="InvalidParameterValueException")
        moved = self.moves.cancel_message_move_task(TaskHandle=handle)
        self.assertLess(moved["ApproximateNumberOfMessagesMoved"], 6)
        task = self.wait_move_task(arn(dlq_name))
        self.assertIn(task["Status"], ("CANCELLING", "CANCELLED"), task)
        total = sum(self.counts(dest_url)) + sum(self.counts(dlq_url))
        self.assertEqual(total, 6, "a cancelled move must neither lose nor copy messages")

    def test_message_purge(self):
        _, url = self.new_queue("purge2", {"VisibilityTimeout": "30"})
        self.sqs.send_message(QueueUrl=url, MessageBody="visible")
        self.sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=60)
        self.sqs.send_message(QueueUrl=url, MessageBody="in flight")
        self.receive(url, WaitTimeSeconds=1)
        self.sqs.purge_queue(QueueUrl=url)
        deadline = time.monotonic() + 5
        while self.counts(url) != (0, 0, 0) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(self.counts(url), (0, 0, 0))
        self.assertEqual(self.receive(url, WaitTimeSeconds=1), [])

    def test_message_errors(self):
        _, url = self.new_queue("msgerr", {"MaximumMessageSize": "1024"})
        gone = f"{ENDPOINT}/{ACCOUNT}/{unique_name('never-created')}"
        self.assert_error("AWS.SimpleQueueService.NonExistentQueue", 400, self.sqs.send_message,
                          QueueUrl=gone, MessageBody="x", shape="QueueDoesNotExist")
        self.assert_error("AWS.SimpleQueueService.NonExistentQueue", 400,
                          self.sqs.receive_message, QueueUrl=gone, shape="QueueDoesNotExist")
        self.assert_error("MissingParameter", 400, self.raw.send_message, QueueUrl=url,
                          MessageBody="", shape="MissingRequiredParameterException")
        self.assert_error("MissingParameter", 400, self.raw.send_message, QueueUrl=url,
                          shape="MissingRequiredParameterException")
        self.assert_error("InvalidMessageContents", 400, self.sqs.send_message, QueueUrl=url,
                          MessageBody="bad \x08 char", shape="InvalidMessageContents")
        self.assert_error("InvalidParameterValue", 400, self.sqs.send_message, QueueUrl=url,
                          MessageBody="z" * 1025, shape="InvalidParameterValueException")
        self.assert_error("InvalidParameterValue", 400, self.sqs.send_message, QueueUrl=url,
                          MessageBody="x", DelaySeconds=901,
                          shape="InvalidParameterValueException")
        for parameter, value in (("MaxNumberOfMessages", 11), ("MaxNumberOfMessages", 0),
                                 ("WaitTimeSeconds", 21), ("VisibilityTimeout", 50000)):
            err = self.assert_error("InvalidParameterValue", 400, self.raw.receive_message,
                                    QueueUrl=url, shape="InvalidParameterValueException",
                                    **{parameter: value})
            self.assertIn(parameter, err["Message"])
        err = self.assert_error("ReceiptHandleIsInvalid", 404, self.sqs.delete_message,
                                QueueUrl=url, ReceiptHandle="garbage",
                                shape="ReceiptHandleIsInvalid")
        self.assertIn("garbage", err["Message"])
        self.assertEqual(self.counts(url), (0, 0, 0))

    # --- FIFO queues (SQS_REFERENCE §4; names and attribute rules §1.3, §2) ----------------

    def test_fifo_create_and_queue_attributes(self):
        name, url = self.new_fifo_queue("fcreate")
        attributes = self.queue_attributes(url, "All")
        fifo_keys = ("FifoQueue", "ContentBasedDeduplication", "DeduplicationScope",
                     "FifoThroughputLimit")
        self.assertEqual(set(attributes), ALL_ATTRIBUTES_STANDARD | set(fifo_keys))
        self.assertEqual({k: attributes[k] for k in fifo_keys + ("QueueArn",)}, {
            "FifoQueue": "true", "ContentBasedDeduplication": "false",
            "DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue",
            "QueueArn": arn(name)})
        self.assertEqual(self.sqs.create_queue(QueueName=name, Attributes={
            "FifoQueue": "true"})["QueueUrl"], url)

        # The name and the type must agree, both ways (LS-validated messages, §1.3).
        for kwargs in ({"QueueName": unique_name("fnoattr") + ".fifo"},
                       {"QueueName": unique_name("fnosuffix"),
                        "Attributes": {"FifoQueue": "true"}}):
            err = self.assert_error("InvalidParameterValue", 400, self.sqs.create_queue,
                                    shape="InvalidParameterValueException", **kwargs)
            self.assertEqual(err["Message"], "Can only include alphanumeric characters, "
                                             "hyphens, or underscores. 1 to 80 in length")
        # FIFO-only attributes on a standard queue.
        for attribute, value, message in (
                ("ContentBasedDeduplication", "true",
                 "Unknown Attribute ContentBasedDeduplication."),
                ("DeduplicationScope", "queue",
                 "You can specify the DeduplicationScope only when FifoQueue is set to true."),
                ("FifoThroughputLimit", "perQueue",   # "likewise" in §1.3
                 "You can specify the FifoThroughputLimit only when FifoQueue is set to true.")):
            with self.subTest(attribute=attribute):
                err = self.assert_error("InvalidAttributeName", 400, self.sqs.create_queue,
                                        QueueName=unique_name("stdfifoattr"),
                                        Attributes={attribute: value},
                                        shape="InvalidAttributeName")
                self.assertEqual(err["Message"], message)
        _, std_url = self.new_queue("stdsetfifo")
        err = self.assert_error("InvalidAttributeName", 400, self.sqs.set_queue_attributes,
                                QueueUrl=std_url, Attributes={"FifoQueue": "true"},
                                shape="InvalidAttributeName")
        self.assertEqual(err["Message"], "Unknown Attribute FifoQueue.")
        # The type is create-only.
        err = self.assert_error("InvalidAttributeValue", 400, self.sqs.set_queue_attributes,
                                QueueUrl=url, Attributes={"FifoQueue": "false"},
                                shape="InvalidAttributeValue")
        self.assertEqual(err["Message"], "Invalid value for the parameter FifoQueue. Reason: "
                                         "Modifying queue type is not supported.")

        # High throughput (messageGroup + perMessageGroupId) is settable at any time.
        high = {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={
            **high, "ContentBasedDeduplication": "true"})
        self.assertEqual(self.queue_attributes(url, *fifo_keys),
                         {"FifoQueue": "true", "ContentBasedDeduplication": "true", **high})
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={
            "DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"})
        self.assertEqual(self.queue_attributes(url, "DeduplicationScope", "FifoThroughputLimit"),
                         {"DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"})
        _, high_url = self.new_fifo_queue("fhigh", high)
        self.assertEqual(self.queue_attributes(high_url, *fifo_keys),
                         {"FifoQueue": "true", "ContentBasedDeduplication": "false", **high})

    def test_fifo_send_rules_and_sequence_numbers(self):
        _, url = self.new_fifo_queue("fsend")
        err = self.assert_error("MissingParameter", 400, self.sqs.send_message, QueueUrl=url,
                                MessageBody="x", MessageDeduplicationId="d",
                                shape="MissingRequiredParameterException")
        self.assertEqual(err["Message"], "The request must contain the parameter MessageGroupId.")
        err = self.assert_error("InvalidParameterValue", 400, self.sqs.send_message,
                                QueueUrl=url, MessageBody="x", MessageGroupId="g",
                                MessageDeduplicationId="d", DelaySeconds=2,
                                shape="InvalidParameterValueException")
        self.assertEqual(err["Message"], "Value 2 for parameter DelaySeconds is invalid. Reason: "
                         "The request include parameter that is not valid for this queue type.")
        err = self.assert_error("InvalidParameterValue", 400, self.sqs.send_message,
                                QueueUrl=url, MessageBody="x", MessageGroupId="g",
                                shape="InvalidParameterValueException")
        self.assertEqual(err["Message"], "The queue should either have ContentBasedDeduplication "
                                         "enabled or MessageDeduplicationId provided explicitly")
        self.assertEqual(self.counts(url), (0, 0, 0))

        attrs = {"k": {"DataType": "String", "StringValue": "v ✓"}}
        sent = [self.send_fifo(url, "single 0", "g", dedup="s0", DelaySeconds=0),
                self.send_fifo(url, "single 1", "g", dedup="s1", MessageAttributes=attrs),
                self.send_fifo(url, "single 2", "g", dedup="s2")]
        entries = [{"Id": f"b{i}", "MessageBody": f"batch {i}", "MessageGroupId": "g",
                    "MessageDeduplicationId": f"b{i}"} for i in range(4)]
        entries[2]["MessageAttributes"] = attrs
        response = self.sqs.send_message_batch(QueueUrl=url, Entries=entries)
        self.assertEqual(response.get("Failed", []), [])
        self.assertEqual([e["Id"] for e in response["Successful"]], [e["Id"] for e in entries])
        for entry, result in zip(entries, response["Successful"]):
            self.check_sent(result, entry["MessageBody"], entry.get("MessageAttributes"),
                            fifo=True)
        sent += response["Successful"]
        numbers = [int(r["SequenceNumber"]) for r in sent]
        self.assertEqual(numbers, sorted(set(numbers)), "SequenceNumber must increase in a group")

        # One group: a single receive returns all of it, in send (= batch request) order.
        got = self.receive(url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                           AttributeNames=["SequenceNumber"], MessageAttributeNames=["All"])
        self.assertEqual([m["Body"] for m in got], [f"single {i}" for i in range(3)] +
                         [f"batch {i}" for i in range(4)])
        self.assertEqual([m["MessageId"] for m in got], [r["MessageId"] for r in sent])
        self.assertEqual([m["Attributes"]["SequenceNumber"] for m in got],
                         [r["SequenceNumber"] for r in sent])
        self.assertEqual(got[1]["MessageAttributes"], attrs)
        self.assertEqual(got[5]["MessageAttributes"], attrs)

    def test_fifo_order_within_a_group_across_receives(self):
        _, url = self.new_fifo_queue("forder", {"ContentBasedDeduplication": "true"})
        bodies = [f"step {i}" for i in range(6)]
        for body in bodies:
            self.send_fifo(url, body, "orders")
        got = []
        for _ in range(10):
            if len(got) == len(bodies):
                break
            batch = self.receive(url, MaxNumberOfMessages=2, VisibilityTimeout=30)
            self.assertTrue(batch, f"nothing received after {got}")
            got += [m["Body"] for m in batch]
            # The group stays locked while these are in flight.
            self.assertEqual(self.receive(url, MaxNumberOfMessages=10), [])
            for m in batch:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        self.assertEqual(got, bodies)
        self.assertEqual(self.counts(url), (0, 0, 0))

    def test_fifo_receive_fills_from_other_groups(self):
        # LS-validated test_fifo_receive_message_with_zero_visibility_timeout (§4).
        _, url = self.new_fifo_queue("ffill", {"ContentBasedDeduplication": "true"})
        for body in ("g1-m1", "g1-m2", "g2-m1", "g2-m2", "g3-m1"):
            self.send_fifo(url, body, body[:2])
        got = self.receive(url, MaxNumberOfMessages=3, VisibilityTimeout=0,
                           AttributeNames=["MessageGroupId"])
        self.assertEqual([m["Body"] for m in got], ["g1-m1", "g1-m2", "g2-m1"])
        for m in got:
            self.assertEqual(m["Attributes"], {"MessageGroupId": m["Body"][:2]})

    def test_fifo_group_lock(self):
        _, url = self.new_fifo_queue("flock", {"ContentBasedDeduplication": "true"})
        for body in ("a1", "a2", "b1"):
            self.send_fifo(url, body, body[0])
        first = self.receive(url, MaxNumberOfMessages=1, VisibilityTimeout=30)
        self.assertEqual([m["Body"] for m in first], ["a1"])
        # Group a is locked while a1 is in flight; group b is not.
        self.assertEqual([m["Body"] for m in self.receive(url, MaxNumberOfMessages=10,
                                                          VisibilityTimeout=30)], ["b1"])
        self.send_fifo(url, "a3", "a")   # a send does not unlock the group
        self.assertEqual(self.receive(url, MaxNumberOfMessages=10), [])
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
        second = self.receive(url, MaxNumberOfMessages=1, VisibilityTimeout=30)
        self.assertEqual([m["Body"] for m in second], ["a2"])
        self.assertEqual(self.receive(url, MaxNumberOfMessages=10), [])
        # ChangeMessageVisibility 0 ends the lock: a2 comes back, still first.
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second[0]["ReceiptHandle"],
                                           VisibilityTimeout=0)
        again = self.receive(url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                             AttributeNames=["ApproximateReceiveCount"])
        self.assertEqual([m["Body"] for m in again], ["a2", "a3"])
        self.assertEqual(again[0]["MessageId"], second[0]["MessageId"])
        self.assertEqual([m["Attributes"]["ApproximateReceiveCount"] for m in again], ["2", "1"])
        self.assertEqual(self.counts(url), (0, 3, 0))

    def test_fifo_delete_after_visibility_expired(self):
        _, url = self.new_fifo_queue("fexpire", {"ContentBasedDeduplication": "true"})
        self.send_fifo(url, "too late", "g")
        message = self.receive(url, VisibilityTimeout=1)[0]
        time.sleep(1.5)
        err = self.assert_error("InvalidParameterValue", 400, self.sqs.delete_message,
                                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"],
                                shape="InvalidParameterValueException")
        self.assertTrue(err["Message"].endswith(
            "for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."),
            err["Message"])
        again = self.receive(url, VisibilityTimeout=30, AttributeNames=["ApproximateReceiveCount"])
        self.assertEqual([m["MessageId"] for m in again], [message["MessageId"]])
        self.assertEqual(again[0]["Attributes"]["ApproximateReceiveCount"], "2")
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
        self.assertEqual(self.counts(url), (0, 0, 0))

    def test_fifo_dedup_explicit_queue_scope_and_purge(self):
        _, url = self.new_fifo_queue("fdedup")
        first = self.send_fifo(url, "original", "g1", dedup="same")
        # A duplicate is accepted but not enqueued. What it returns is not AWS-recorded (§4);
        # the original MessageId is what emulators return (floci-io/floci#901).
        dup = self.sqs.send_message(QueueUrl=url, MessageBody="original", MessageGroupId="g1",
                                    MessageDeduplicationId="same")
        self.assertEqual(dup["MessageId"], first["MessageId"])
        self.assertEqual(dup["MD5OfMessageBody"], md5_of_body("original"))
        # DeduplicationScope=queue (the default): another group's message with the same ID is
        # dropped too (LS-validated test_sqs_fifo_same_dedup_id_different_message_groups).
        self.sqs.send_message(QueueUrl=url, MessageBody="original", MessageGroupId="g2",
                              MessageDeduplicationId="same")
        self.assertEqual(self.counts(url), (1, 0, 0))
        got = self.receive(url, MaxNumberOfMessages=10, VisibilityTimeout=30)
        self.assertEqual([m["MessageId"] for m in got], [first["MessageId"]])
        # The record outlives the message.
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
        self.sqs.send_message(QueueUrl=url, MessageBody="original", MessageGroupId="g1",
                              MessageDeduplicationId="same")
        self.assertEqual(self.counts(url), (0, 0, 0))
        # PurgeQueue clears the records (LS-validated).
        self.send_fifo(url, "to purge", "g1", dedup="other")
        self.sqs.purge_queue(QueueUrl=url)
        deadline = time.monotonic() + 5
        while self.counts(url) != (0, 0, 0) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(self.counts(url), (0, 0, 0))
        after = self.send_fifo(url, "original", "g1", dedup="same")
        self.assertNotEqual(after["MessageId"], first["MessageId"])
        self.send_fifo(url, "to purge", "g1", dedup="other")
        self.assertEqual(self.counts(url), (2, 0, 0))

    def test_fifo_dedup_content_based(self):
        _, url = self.new_fifo_queue("fcbd", {"ContentBasedDeduplication": "true"})
        s = lambda v: {"k": {"DataType": "String", "StringValue": v}}  # noqa: E731
        first = self.send_fifo(url, "payload", "g", MessageAttributes=s("1"))
        # The hash covers the body only: other attributes are still a duplicate.
        dup = self.sqs.send_message(QueueUrl=url, MessageBody="payload", MessageGroupId="g",
                                    MessageAttributes=s("2"))
        self.assertEqual(dup["MessageId"], first["MessageId"])
        # An explicit ID overrides the hash.
        explicit = self.send_fifo(url, "payload", "g", dedup="explicit-id")
        self.assertNotEqual(explicit["MessageId"], first["MessageId"])
        self.send_fifo(url, "another payload", "g")
        self.assertEqual(self.counts(url), (3, 0, 0))
        got = self.receive(url, MaxNumberOfMessages=10, AttributeNames=["All"],
                           MessageAttributeNames=["All"])
        self.assertEqual([m["Body"] for m in got], ["payload", "payload", "another payload"])
        self.assertEqual(got[0]["MessageAttributes"], s("1"))
        self.assertEqual(got[1]["Attributes"]["MessageDeduplicationId"], "explicit-id")
        self.assertTrue(got[0]["Attributes"]["MessageDeduplicationId"])
        self.assertNotEqual(got[0]["Attributes"]["MessageDeduplicationId"],
                            got[2]["Attributes"]["MessageDeduplicationId"])

    def test_fifo_dedup_scope_message_group(self):
        # LS-validated test_sqs_fifo_message_group_scope_no_throughput_setting (§4).
        _, url = self.new_fifo_queue("fscope", {"DeduplicationScope": "messageGroup"})
        a = self.send_fifo(url, "in g1", "g1", dedup="shared")
        b = self.send_fifo(url, "in g2", "g2", dedup="shared")
        self.assertNotEqual(a["MessageId"], b["MessageId"])
        dup = self.sqs.send_message(QueueUrl=url, MessageBody="in g1", MessageGroupId="g1",
                                    MessageDeduplicationId="shared")
        self.assertEqual(dup["MessageId"], a["MessageId"])
        self.assertEqual(self.counts(url), (2, 0, 0))
        got = self.receive(url, MaxNumberOfMessages=10, VisibilityTimeout=30)
        self.assertEqual(sorted(m["Body"] for m in got), ["in g1", "in g2"])

    def test_fifo_system_attributes_on_receive(self):
        _, url = self.new_fifo_queue("fsys", {"VisibilityTimeout": "0"})
        sent = self.send_fifo(url, "sys", "grp-1", dedup="dedup-1")
        every = self.receive(url, AttributeNames=["All"])[0]["Attributes"]
        self.assertLessEqual({"SenderId", "SentTimestamp", "ApproximateReceiveCount",
                              "ApproximateFirstReceiveTimestamp", "SequenceNumber",
                              "MessageDeduplicationId", "MessageGroupId"}, set(every))
        self.assertNotIn("DeadLetterQueueSourceArn", every)
        fifo = {"SequenceNumber": sent["SequenceNumber"], "MessageDeduplicationId": "dedup-1",
                "MessageGroupId": "grp-1"}
        self.assertEqual({k: every[k] for k in fifo}, fifo)
        one = self.receive(url, AttributeNames=["MessageGroupId", "SequenceNumber"])[0]
        self.assertEqual(one["Attributes"], {"MessageGroupId": "grp-1",
                                             "SequenceNumber": sent["SequenceNumber"]})
        if PROTOCOL != "json":
            return   # MessageSystemAttributeNames is not in any Query-era model (§5.2)
        every2 = self.receive(url, MessageSystemAttributeNames=["All"])[0]["Attributes"]
        self.assertEqual({k: every2[k] for k in fifo}, fifo)
        self.assertEqual(set(every2), set(every))
        one = self.receive(url, MessageSystemAttributeNames=["MessageDeduplicationId"])[0]
        self.assertEqual(one["Attributes"], {"MessageDeduplicationId": "dedup-1"})

    def test_fifo_receive_request_attempt_id(self):
        _, url = self.new_fifo_queue("fattempt", {"ContentBasedDeduplication": "true"})
        for i in range(3):
            self.send_fifo(url, f"r{i}", "g")
        kwargs = {"MaxNumberOfMessages": 10, "VisibilityTimeout": 30}
        first = self.receive(url, ReceiveRequestAttemptId="attempt-1", **kwargs)
        self.assertEqual([m["Body"] for m in first], ["r0", "r1", "r2"])
        retry = self.receive(url, ReceiveRequestAttemptId="attempt-1", **kwargs)
        self.assertEqual([(m["MessageId"], m["ReceiptHandle"]) for m in retry],
                         [(m["MessageId"], m["ReceiptHandle"]) for m in first])
        self.assertEqual(self.receive(url, ReceiveRequestAttemptId="attempt-2", **kwargs), [])
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
        err = self.assert_error("InvalidParameterValue", 400, self.sqs.receive_message,
                                QueueUrl=url, ReceiveRequestAttemptId="attempt-1",
                                shape="InvalidParameterValueException", **kwargs)
        # Message as AWS sent it in aws/aws-sdk-java#2613 (§1.2).
        self.assertEqual(err["Message"], "Value attempt-1 for parameter ReceiveRequestAttemptId "
                         "is invalid. Reason: The receiveRequestAttemptId is not valid anymore "
                         "since the receive call is not retryable.")

    def test_fifo_dead_letter_queue(self):
        dlq_name, dlq_url = self.new_fifo_queue("fdlq")
        src_name, src_url = self.new_fifo_queue("fsrc", {
            "ContentBasedDeduplication": "true",
            "RedrivePolicy": f'{{"deadLetterTargetArn":"{arn(dlq_name)}","maxReceiveCount":1}}'})
        attrs = {"kind": {"DataType": "String", "StringValue": "poison"}}
        sent = self.send_fifo(src_url, "poison pill", "pg", MessageAttributes=attrs)
        first = self.receive(src_url, VisibilityTimeout=0)
        self.assertEqual([m["MessageId"] for m in first], [sent["MessageId"]])
        # The receive after maxReceiveCount moves it instead of returning it.
        self.assertEqual(self.receive(src_url, WaitTimeSeconds=1), [])
        dead = self.receive(dlq_url, WaitTimeSeconds=3, VisibilityTimeout=0,
                            AttributeNames=["All"], MessageAttributeNames=["All"])
        self.assertEqual([m["MessageId"] for m in dead], [sent["MessageId"]])
        self.assertEqual(dead[0]["Body"], "poison pill")
        self.assertEqual(dead[0]["MessageAttributes"], attrs)
        self.assertEqual(dead[0]["Attributes"]["DeadLetterQueueSourceArn"], arn(src_name))
        self.assertEqual(dead[0]["Attributes"]["MessageGroupId"], "pg")
        self.assertEqual(self.counts(src_url), (0, 0, 0))
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)["queueUrls"],
                         [src_url])
        # A FIFO source needs a FIFO DLQ (§2.1).
        std_name, _ = self.new_queue("stddlq")
        self.assert_error("InvalidParameterValue", 400, self.sqs.create_queue,
                          QueueName=unique_name("fsrcstd") + ".fifo", Attributes={
                              "FifoQueue": "true", "RedrivePolicy": (
                                  f'{{"deadLetterTargetArn":"{arn(std_name)}",'
                                  f'"maxReceiveCount":1}}')},
                          shape="InvalidParameterValueException")

def main():
    global PROTOCOL, ENDPOINT, LQSD, boto3, botocore, ClientError, Config
    argv = sys.argv[:]
    lqsd_path = pop_option(argv, "--lqsd") or os.environ.get("LQSD")
    PROTOCOL = pop_option(argv, "--protocol") or os.environ.get("LQS_COMPAT_PROTOCOL")
    if PROTOCOL not in PROTOCOLS:
        fail("pass --protocol json or --protocol query (the protocol this run must prove)")
    try:
        import boto3 as _boto3
        import botocore as _botocore
        import botocore.client  # noqa: F401
        from botocore.config import Config as _Config
        from botocore.exceptions import ClientError as _ClientError
    except ImportError as e:
        fail(f"{sys.executable} cannot import boto3 ({e}); install {INSTALL_HINT[PROTOCOL]}")
    boto3, botocore, Config, ClientError = _boto3, _botocore, _Config, _ClientError
    print(f"compat: {sys.executable}, boto3 {boto3.__version__}, botocore "
          f"{botocore.__version__}, expected protocol {PROTOCOL}", flush=True)

    # --endpoint URL runs the suite against a server that is already running (debugging).
    ENDPOINT = pop_option(argv, "--endpoint")
    if not ENDPOINT:
        LQSD = Lqsd(lqsd_path).start()
        ENDPOINT = LQSD.endpoint
    print(f"compat: server at {ENDPOINT}", flush=True)
    ok = False
    status = None
    try:
        program = unittest.main(argv=argv, exit=False, verbosity=2)
        ok = program.result.wasSuccessful()
    finally:
        if LQSD:
            status = LQSD.stop(show_log=not ok)
    if status not in (0, None):
        print(f"lqsd exited with status {status} after SIGTERM", file=sys.stderr)
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
