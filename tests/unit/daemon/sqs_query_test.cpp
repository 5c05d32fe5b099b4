// Copyright lqs authors. The SQS Query codec: requests as botocore 1.29 sends them
// (/work/shared/sqs-model/captures/query_requests.log) to JSON-protocol input, and JSON-protocol
// output to the XML botocore 1.29's Query parser reads.
#include "daemon/sqs_query.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace lqs::daemon::query {
namespace {

using nlohmann::json;

constexpr std::string_view kQ1 = "http%3A%2F%2F127.0.0.1%3A18999%2F000000000000%2Fq1";
constexpr std::string_view kQ1Url = "http://127.0.0.1:18999/000000000000/q1";

QueryRequest parse_ok(std::string_view body, std::string_view query = {}) {
  auto r = parse(body, query);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : QueryRequest{};
}

Error parse_error(std::string_view body, std::string_view query = {}) {
  auto r = parse(body, query);
  EXPECT_FALSE(r) << "parsed: " << (r ? r->input.dump() : "");
  return r ? Error{} : r.error();
}

// --- the captured requests (query_requests.log, in capture order), one test each -----------

std::string q1_body(std::string_view action, std::string_view rest) {
  return "Action=" + std::string(action) + "&Version=2012-11-05&QueueUrl=" + std::string(kQ1) +
         std::string(rest);
}

TEST(SqsQueryCaptures, EveryCapturedRequestParsesToItsJsonInput) {
  const std::string q1 = std::string(kQ1Url);
  struct Case {
    std::string body;
    std::string action;
    json input;
  };
  const Case cases[] = {
      {"Action=GetQueueUrl&Version=2012-11-05&QueueName=missing",
       "GetQueueUrl",
       {{"QueueName", "missing"}}},
      {"Action=CreateQueue&Version=2012-11-05&QueueName=q1&Attribute.1.Name=VisibilityTimeout&"
       "Attribute.1.Value=40&Attribute.2.Name=FifoQueue&Attribute.2.Value=false&Tag.1.Key=k1&"
       "Tag.1.Value=v1",
       "CreateQueue",
       {{"QueueName", "q1"},
        {"Attributes", {{"VisibilityTimeout", "40"}, {"FifoQueue", "false"}}},
        {"tags", {{"k1", "v1"}}}}},
      {q1_body("SendMessage",
               "&MessageBody=hello&DelaySeconds=5&MessageAttribute.1.Name=a1&"
               "MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=v&"
               "MessageAttribute.2.Name=b1&MessageAttribute.2.Value.DataType=Binary&"
               "MessageAttribute.2.Value.BinaryValue=AAE%3D&MessageAttribute.3.Name=n1&"
               "MessageAttribute.3.Value.DataType=Number.int&"
               "MessageAttribute.3.Value.StringValue=42&"
               "MessageSystemAttribute.1.Name=AWSTraceHeader&"
               "MessageSystemAttribute.1.Value.DataType=String&"
               "MessageSystemAttribute.1.Value.StringValue=Root%3D1-5759e988-"
               "bd862e3fe1be46a994272793"),
       "SendMessage",
       {{"QueueUrl", q1},
        {"MessageBody", "hello"},
        {"DelaySeconds", 5},
        {"MessageAttributes",
         {{"a1", {{"DataType", "String"}, {"StringValue", "v"}}},
          {"b1", {{"DataType", "Binary"}, {"BinaryValue", "AAE="}}},
          {"n1", {{"DataType", "Number.int"}, {"StringValue", "42"}}}}},
        {"MessageSystemAttributes",
         {{"AWSTraceHeader",
           {{"DataType", "String"},
            {"StringValue", "Root=1-5759e988-bd862e3fe1be46a994272793"}}}}}}},
      {q1_body("SendMessageBatch",
               "&SendMessageBatchRequestEntry.1.Id=e1&SendMessageBatchRequestEntry.1.MessageBody=x&"
               "SendMessageBatchRequestEntry.1.MessageGroupId=g&"
               "SendMessageBatchRequestEntry.1.MessageDeduplicationId=d&"
               "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=a&"
               "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String&"
               "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=s&"
               "SendMessageBatchRequestEntry.2.Id=e2&SendMessageBatchRequestEntry.2.MessageBody=y"),
       "SendMessageBatch",
       {{"QueueUrl", q1},
        {"Entries",
         {{{"Id", "e1"},
           {"MessageBody", "x"},
           {"MessageGroupId", "g"},
           {"MessageDeduplicationId", "d"},
           {"MessageAttributes", {{"a", {{"DataType", "String"}, {"StringValue", "s"}}}}}},
          {{"Id", "e2"}, {"MessageBody", "y"}}}}}},
      {q1_body("ReceiveMessage",
               "&AttributeName.1=All&MessageAttributeName.1=All&MessageAttributeName.2=foo.%2A&"
               "MaxNumberOfMessages=10&VisibilityTimeout=30&WaitTimeSeconds=20&"
               "ReceiveRequestAttemptId=r1"),
       "ReceiveMessage",
       {{"QueueUrl", q1},
        {"AttributeNames", {"All"}},
        {"MessageAttributeNames", {"All", "foo.*"}},
        {"MaxNumberOfMessages", 10},
        {"VisibilityTimeout", 30},
        {"WaitTimeSeconds", 20},
        {"ReceiveRequestAttemptId", "r1"}}},
      {q1_body("DeleteMessageBatch",
               "&DeleteMessageBatchRequestEntry.1.Id=a&"
               "DeleteMessageBatchRequestEntry.1.ReceiptHandle=rh1"),
       "DeleteMessageBatch",
       {{"QueueUrl", q1}, {"Entries", {{{"Id", "a"}, {"ReceiptHandle", "rh1"}}}}}},
      {q1_body("ChangeMessageVisibilityBatch",
               "&ChangeMessageVisibilityBatchRequestEntry.1.Id=a&"
               "ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle=rh1&"
               "ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=10"),
       "ChangeMessageVisibilityBatch",
       {{"QueueUrl", q1},
        {"Entries", {{{"Id", "a"}, {"ReceiptHandle", "rh1"}, {"VisibilityTimeout", 10}}}}}},
      {q1_body("GetQueueAttributes", "&AttributeName.1=All"),
       "GetQueueAttributes",
       {{"QueueUrl", q1}, {"AttributeNames", {"All"}}}},
      {q1_body("SetQueueAttributes", "&Attribute.1.Name=DelaySeconds&Attribute.1.Value=1"),
       "SetQueueAttributes",
       {{"QueueUrl", q1}, {"Attributes", {{"DelaySeconds", "1"}}}}},
      {q1_body("AddPermission",
               "&Label=l&AWSAccountId.1=111122223333&ActionName.1=SendMessage&"
               "ActionName.2=ReceiveMessage"),
       "AddPermission",
       {{"QueueUrl", q1},
        {"Label", "l"},
        {"AWSAccountIds", {"111122223333"}},
        {"Actions", {"SendMessage", "ReceiveMessage"}}}},
      {q1_body("UntagQueue", "&TagKey.1=k1&TagKey.2=k2"),
       "UntagQueue",
       {{"QueueUrl", q1}, {"TagKeys", {"k1", "k2"}}}},
      {q1_body("TagQueue", "&Tag.1.Key=k1&Tag.1.Value=v1"),
       "TagQueue",
       {{"QueueUrl", q1}, {"Tags", {{"k1", "v1"}}}}},
      {"Action=ListQueues&Version=2012-11-05&QueueNamePrefix=q&MaxResults=5&NextToken=tok",
       "ListQueues",
       {{"QueueNamePrefix", "q"}, {"MaxResults", 5}, {"NextToken", "tok"}}},
      {q1_body("PurgeQueue", ""), "PurgeQueue", {{"QueueUrl", q1}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    const QueryRequest r = parse_ok(c.body);
    EXPECT_EQ(r.action, c.action);
    EXPECT_EQ(r.version, "2012-11-05");
    EXPECT_EQ(r.input, c.input) << r.input.dump();
  }
}

// --- parsing: each flattening, the rest of the 23 actions, GET ------------------------------

TEST(SqsQueryParse, IntegersBecomeJsonNumbers) {
  const auto r =
      parse_ok(q1_body("ChangeMessageVisibility", "&ReceiptHandle=h&VisibilityTimeout=-1"));
  ASSERT_TRUE(r.input["VisibilityTimeout"].is_number_integer());
  EXPECT_EQ(r.input["VisibilityTimeout"].get<int64_t>(), -1);
  // Range is the core's business, as for a JSON number: a large one passes through.
  const auto big = parse_ok(q1_body("ReceiveMessage", "&MaxNumberOfMessages=99999999999"));
  EXPECT_EQ(big.input["MaxNumberOfMessages"].get<int64_t>(), 99999999999);
}

TEST(SqsQueryParse, NonIntegerIsInvalidParameterValue) {
  // {as sent, as decoded}: '+' is a space in a form, %2B a plus sign.
  const std::pair<const char*, const char*> values[] = {
      {"abc", "abc"},   {"", ""},
      {"1.5", "1.5"},   {"10x", "10x"},
      {"+1", " 1"},     {"%2B1", "+1"},
      {"0x10", "0x10"}, {"99999999999999999999", "99999999999999999999"}};
  for (const auto& [sent, decoded] : values) {
    SCOPED_TRACE(sent);
    const Error e = parse_error(q1_body("ReceiveMessage", std::string("&WaitTimeSeconds=") + sent));
    EXPECT_EQ(e.code, ErrorCode::kInvalidParameterValue);
    EXPECT_EQ(e.message, "Value " + std::string(decoded) +
                             " for parameter WaitTimeSeconds is invalid. Reason: Must be an "
                             "integer.");
  }
  // Nested: the message names the parameter as sent.
  const Error e = parse_error(q1_body("SendMessageBatch",
                                      "&SendMessageBatchRequestEntry.1.Id=a&"
                                      "SendMessageBatchRequestEntry.1.DelaySeconds=soon"));
  EXPECT_EQ(e.code, ErrorCode::kInvalidParameterValue);
  EXPECT_NE(e.message.find("SendMessageBatchRequestEntry.1.DelaySeconds"), std::string::npos);
}

TEST(SqsQueryParse, MessageAttributeListValuesAndSystemAttributeNames) {
  const auto r = parse_ok(q1_body(
      "SendMessage",
      "&MessageBody=b&MessageAttribute.1.Name=l&MessageAttribute.1.Value.DataType=String&"
      "MessageAttribute.1.Value.StringListValue.1=x&MessageAttribute.1.Value.StringListValue.2=y&"
      "MessageAttribute.1.Value.BinaryListValue.1=AA%3D%3D"));
  EXPECT_EQ(r.input["MessageAttributes"]["l"], (json{{"DataType", "String"},
                                                     {"StringListValues", {"x", "y"}},
                                                     {"BinaryListValues", {"AA=="}}}));
  const auto rm = parse_ok(q1_body("ReceiveMessage",
                                   "&MessageSystemAttributeName.1=SentTimestamp&"
                                   "MessageSystemAttributeName.2=SenderId"));
  EXPECT_EQ(rm.input["MessageSystemAttributeNames"], (json{"SentTimestamp", "SenderId"}));
}

TEST(SqsQueryParse, BatchEntriesWithSystemAttributesAndTenEntriesInOrder) {
  std::string rest;
  for (int i = 1; i <= 10; ++i) {
    const std::string e = "&SendMessageBatchRequestEntry." + std::to_string(i);
    rest += e + ".Id=m" + std::to_string(i) + e + ".MessageBody=b" + std::to_string(i) + e +
            ".DelaySeconds=" + std::to_string(i);
  }
  rest +=
      "&SendMessageBatchRequestEntry.3.MessageSystemAttribute.1.Name=AWSTraceHeader&"
      "SendMessageBatchRequestEntry.3.MessageSystemAttribute.1.Value.DataType=String&"
      "SendMessageBatchRequestEntry.3.MessageSystemAttribute.1.Value.StringValue=Root%3D1";
  const auto r = parse_ok(q1_body("SendMessageBatch", rest));
  const json& entries = r.input["Entries"];
  ASSERT_EQ(entries.size(), 10u);
  for (int i = 0; i < 10; ++i) {  // entry 10 sorts before 2 as a string, but lands last
    EXPECT_EQ(entries[i]["Id"], "m" + std::to_string(i + 1));
    EXPECT_EQ(entries[i]["DelaySeconds"], i + 1);
  }
  EXPECT_EQ(entries[2]["MessageSystemAttributes"],
            (json{{"AWSTraceHeader", {{"DataType", "String"}, {"StringValue", "Root=1"}}}}));
}

TEST(SqsQueryParse, EveryOtherActionOfTheTwentyThree) {
  const std::string q1 = std::string(kQ1Url);
  EXPECT_EQ(parse_ok(q1_body("DeleteQueue", "")).input, (json{{"QueueUrl", q1}}));
  EXPECT_EQ(parse_ok(q1_body("DeleteMessage", "&ReceiptHandle=a%2Bb%2F%3D")).input,
            (json{{"QueueUrl", q1}, {"ReceiptHandle", "a+b/="}}));
  EXPECT_EQ(
      parse_ok(q1_body("ChangeMessageVisibility", "&ReceiptHandle=h&VisibilityTimeout=0")).input,
      (json{{"QueueUrl", q1}, {"ReceiptHandle", "h"}, {"VisibilityTimeout", 0}}));
  EXPECT_EQ(parse_ok(q1_body("RemovePermission", "&Label=l")).input,
            (json{{"QueueUrl", q1}, {"Label", "l"}}));
  EXPECT_EQ(parse_ok(q1_body("ListQueueTags", "")).input, (json{{"QueueUrl", q1}}));
  EXPECT_EQ(parse_ok(q1_body("ListDeadLetterSourceQueues", "&MaxResults=2&NextToken=t")).input,
            (json{{"QueueUrl", q1}, {"MaxResults", 2}, {"NextToken", "t"}}));
  EXPECT_EQ(parse_ok("Action=GetQueueUrl&QueueName=q&QueueOwnerAWSAccountId=123456789012").input,
            (json{{"QueueName", "q"}, {"QueueOwnerAWSAccountId", "123456789012"}}));
  const std::string arn = "arn%3Aaws%3Asqs%3Aus-east-1%3A000000000000%3Adlq";
  EXPECT_EQ(parse_ok("Action=StartMessageMoveTask&SourceArn=" + arn +
                     "&DestinationArn=d&MaxNumberOfMessagesPerSecond=50")
                .input,
            (json{{"SourceArn", "arn:aws:sqs:us-east-1:000000000000:dlq"},
                  {"DestinationArn", "d"},
                  {"MaxNumberOfMessagesPerSecond", 50}}));
  EXPECT_EQ(parse_ok("Action=CancelMessageMoveTask&TaskHandle=th").input,
            (json{{"TaskHandle", "th"}}));
  EXPECT_EQ(parse_ok("Action=ListMessageMoveTasks&SourceArn=s&MaxResults=10").input,
            (json{{"SourceArn", "s"}, {"MaxResults", 10}}));
  // Required members are the core's to check (MissingParameter, as for JSON).
  EXPECT_EQ(parse_ok("Action=SendMessage").input, json::object());
}

TEST(SqsQueryParse, GetPutsParametersInTheQueryStringAndTheBodyWins) {
  const auto get = parse_ok("", "Action=SendMessage&MessageBody=hi+there%21&Version=2012-11-05");
  EXPECT_EQ(get.action, "SendMessage");
  EXPECT_EQ(get.input, (json{{"MessageBody", "hi there!"}}));
  const auto both =
      parse_ok("Action=SendMessage&MessageBody=body", "MessageBody=url&DelaySeconds=3");
  EXPECT_EQ(both.input, (json{{"MessageBody", "body"}, {"DelaySeconds", 3}}));
  // A repeated parameter keeps its first value; empty pairs and ignored parameters pass.
  const auto rep = parse_ok("Action=SendMessage&&MessageBody=1&MessageBody=2&Expires=x&Foo=bar");
  EXPECT_EQ(rep.input, (json{{"MessageBody", "1"}}));
}

TEST(SqsQueryParse, EmptyListIsTheMemberNameWithNoValue) {
  // botocore 1.29 sends AttributeNames=[] as "AttributeNames=".
  const auto r = parse_ok(q1_body("GetQueueAttributes", "&AttributeNames="));
  EXPECT_EQ(r.input["AttributeNames"], json::array());
  EXPECT_FALSE(parse_ok(q1_body("GetQueueAttributes", "")).input.contains("AttributeNames"));
}

TEST(SqsQueryParse, DecodesUtf8AndReservedCharacters) {
  const auto r =
      parse_ok("Action=SendMessage&MessageBody=%E2%82%AC%20%26%3D%2B%0D%0A%22%3C%3E&Foo%2EBar=1");
  EXPECT_EQ(r.input["MessageBody"], "\xE2\x82\xAC &=+\r\n\"<>");
  // A map key or value may hold '.' and '=': only names are split.
  const auto t =
      parse_ok(q1_body("TagQueue", "&Tag.1.Key=a.b&Tag.1.Value=c%3Dd&Tag.2.Key=e&Tag.2.Value="));
  EXPECT_EQ(t.input["Tags"], (json{{"a.b", "c=d"}, {"e", ""}}));
}

TEST(SqsQueryParse, BadPercentEncodingIsMalformedQueryString) {
  for (const char* body : {"Action=SendMessage&MessageBody=%", "Action=SendMessage&MessageBody=%4",
                           "Action=SendMessage&MessageBody=%zz", "Action%2=SendMessage",
                           "Action=SendMessage&MessageBody=%FF",           // not UTF-8
                           "Action=SendMessage&MessageBody=%C0%AF",        // overlong '/'
                           "Action=SendMessage&MessageBody=%ED%A0%80"}) {  // a surrogate
    SCOPED_TRACE(body);
    const Error e = parse_error(body);
    EXPECT_EQ(e.code, ErrorCode::kMalformedRequest);
    EXPECT_EQ(sqs_legacy_code(e.code), "MalformedQueryString");
  }
  EXPECT_EQ(parse_error("", "Action=ListQueues&QueueNamePrefix=%G1").code,
            ErrorCode::kMalformedRequest);
}

TEST(SqsQueryParse, ListAndMapIndexesMustBeOneToN) {
  for (const char* rest :
       {"&AttributeName.2=All", "&AttributeName.1=All&AttributeName.3=x", "&AttributeName.0=All",
        "&AttributeName.01=All", "&AttributeName.x=All", "&AttributeName.=All",
        "&AttributeName.99999999999999999999=All", "&AttributeName.-1=All"}) {
    SCOPED_TRACE(rest);
    EXPECT_EQ(parse_error(q1_body("GetQueueAttributes", rest)).code, ErrorCode::kMalformedRequest);
  }
  EXPECT_EQ(
      parse_error(q1_body("SetQueueAttributes", "&Attribute.2.Name=a&Attribute.2.Value=b")).code,
      ErrorCode::kMalformedRequest);
  EXPECT_EQ(
      parse_error(q1_body("DeleteMessageBatch", "&DeleteMessageBatchRequestEntry.2.Id=a")).code,
      ErrorCode::kMalformedRequest);
}

TEST(SqsQueryParse, MapEntryWithoutKeyOrValueIsMissingParameter) {
  const Error no_key = parse_error(q1_body("TagQueue", "&Tag.1.Value=v"));
  EXPECT_EQ(no_key.code, ErrorCode::kMissingParameter);
  EXPECT_EQ(no_key.message, "The request must contain the parameter Tag.1.Key.");
  const Error no_value =
      parse_error(q1_body("SetQueueAttributes", "&Attribute.1.Name=DelaySeconds"));
  EXPECT_EQ(no_value.code, ErrorCode::kMissingParameter);
  EXPECT_EQ(no_value.message, "The request must contain the parameter Attribute.1.Value.");
  // A message attribute with no Value.* is the core's to reject (as {} in JSON).
  const auto r = parse_ok(q1_body("SendMessage", "&MessageBody=b&MessageAttribute.1.Name=a"));
  EXPECT_EQ(r.input["MessageAttributes"], (json{{"a", json::object()}}));
}

TEST(SqsQueryParse, MissingAndUnknownAction) {
  for (const char* body : {"", "Version=2012-11-05&QueueName=q", "Action=&QueueName=q"}) {
    SCOPED_TRACE(body);
    const Error e = parse_error(body);
    EXPECT_EQ(e.code, ErrorCode::kMissingAction);
    EXPECT_EQ(sqs_legacy_code(e.code), "MissingAction");
    EXPECT_EQ(sqs_http_status(e.code), 400);
  }
  const Error e = parse_error("Action=FooBar&Version=2012-11-05");
  EXPECT_EQ(e.code, ErrorCode::kInvalidAction);
  EXPECT_EQ(e.message, "The action FooBar is not valid for this endpoint.");
  EXPECT_EQ(parse_error("Action=sendmessage").code, ErrorCode::kInvalidAction);  // case matters
}

// --- rendering --------------------------------------------------------------------------------

constexpr std::string_view kNs = R"( xmlns="http://queue.amazonaws.com/doc/2012-11-05/")";

std::string wrap(std::string_view action, std::string_view result) {
  return "<" + std::string(action) + "Response" + std::string(kNs) + ">" + std::string(result) +
         "<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></" + std::string(action) +
         "Response>";
}

TEST(SqsQueryRender, ActionsWithoutResultSendOnlyMetadata) {
  for (const char* a :
       {"DeleteQueue", "SetQueueAttributes", "PurgeQueue", "TagQueue", "UntagQueue",
        "AddPermission", "RemovePermission", "DeleteMessage", "ChangeMessageVisibility"}) {
    EXPECT_EQ(render_result(a, json::object(), "rid"), wrap(a, ""));
  }
}

TEST(SqsQueryRender, ScalarResults) {
  EXPECT_EQ(render_result("CreateQueue", {{"QueueUrl", "http://h/0/q?a=1&b=2"}}, "rid"),
            wrap("CreateQueue",
                 "<CreateQueueResult><QueueUrl>http://h/0/q?a=1&amp;b=2</QueueUrl>"
                 "</CreateQueueResult>"));
  EXPECT_EQ(render_result("GetQueueUrl", {{"QueueUrl", "u"}}, "rid"),
            wrap("GetQueueUrl", "<GetQueueUrlResult><QueueUrl>u</QueueUrl></GetQueueUrlResult>"));
  EXPECT_EQ(render_result("SendMessage",
                          {{"MessageId", "m"},
                           {"MD5OfMessageBody", "5d41402abc4b2a76b9719d911017c592"},
                           {"MD5OfMessageAttributes", "ae7155c6026991b6d54b11589678bf9c"},
                           {"SequenceNumber", "18849496460467696128"}},
                          "rid"),
            wrap("SendMessage",
                 "<SendMessageResult><MD5OfMessageBody>5d41402abc4b2a76b9719d911017c592"
                 "</MD5OfMessageBody><MD5OfMessageAttributes>ae7155c6026991b6d54b11589678bf9c"
                 "</MD5OfMessageAttributes><MessageId>m</MessageId><SequenceNumber>"
                 "18849496460467696128</SequenceNumber></SendMessageResult>"));
  EXPECT_EQ(render_result("StartMessageMoveTask", {{"TaskHandle", "th"}}, "rid"),
            wrap("StartMessageMoveTask",
                 "<StartMessageMoveTaskResult><TaskHandle>th</TaskHandle>"
                 "</StartMessageMoveTaskResult>"));
  EXPECT_EQ(
      render_result("CancelMessageMoveTask", {{"ApproximateNumberOfMessagesMoved", 42}}, "rid"),
      wrap("CancelMessageMoveTask",
           "<CancelMessageMoveTaskResult><ApproximateNumberOfMessagesMoved>42"
           "</ApproximateNumberOfMessagesMoved></CancelMessageMoveTaskResult>"));
}

TEST(SqsQueryRender, ReceiveMessageWithAttributesAndBinaryMessageAttributes) {
  const json out = {
      {"Messages",
       {{{"MessageId", "id1"},
         {"ReceiptHandle", "rh1"},
         {"MD5OfBody", "md5b"},
         {"Body", "a<b>&\"c\"\r\n'd'"},
         {"Attributes", {{"SenderId", "AID"}, {"SentTimestamp", "1700000000000"}}},
         {"MD5OfMessageAttributes", "md5a"},
         {"MessageAttributes",
          {{"b", {{"DataType", "Binary"}, {"BinaryValue", "AAE="}}},
           {"s", {{"DataType", "String"}, {"StringValue", "v"}}}}}},
        {{"MessageId", "id2"}, {"ReceiptHandle", "rh2"}, {"MD5OfBody", "x"}, {"Body", ""}}}}};
  EXPECT_EQ(render_result("ReceiveMessage", out, "rid"),
            wrap("ReceiveMessage",
                 "<ReceiveMessageResult>"
                 "<Message><MessageId>id1</MessageId><ReceiptHandle>rh1</ReceiptHandle>"
                 "<MD5OfBody>md5b</MD5OfBody>"
                 "<Body>a&lt;b&gt;&amp;&quot;c&quot;&#xD;\n'd'</Body>"
                 "<Attribute><Name>SenderId</Name><Value>AID</Value></Attribute>"
                 "<Attribute><Name>SentTimestamp</Name><Value>1700000000000</Value></Attribute>"
                 "<MD5OfMessageAttributes>md5a</MD5OfMessageAttributes>"
                 "<MessageAttribute><Name>b</Name><Value><BinaryValue>AAE=</BinaryValue>"
                 "<DataType>Binary</DataType></Value></MessageAttribute>"
                 "<MessageAttribute><Name>s</Name><Value><StringValue>v</StringValue>"
                 "<DataType>String</DataType></Value></MessageAttribute></Message>"
                 "<Message><MessageId>id2</MessageId><ReceiptHandle>rh2</ReceiptHandle>"
                 "<MD5OfBody>x</MD5OfBody><Body></Body></Message>"
                 "</ReceiveMessageResult>"));
}

TEST(SqsQueryRender, EmptyResults) {
  EXPECT_EQ(render_result("ReceiveMessage", json::object(), "rid"),
            wrap("ReceiveMessage", "<ReceiveMessageResult/>"));
  EXPECT_EQ(render_result("ReceiveMessage", {{"Messages", json::array()}}, "rid"),
            wrap("ReceiveMessage", "<ReceiveMessageResult/>"));
  EXPECT_EQ(render_result("ListQueues", json::object(), "rid"),
            wrap("ListQueues", "<ListQueuesResult/>"));
  EXPECT_EQ(render_result("GetQueueAttributes", json::object(), "rid"),
            wrap("GetQueueAttributes", "<GetQueueAttributesResult/>"));
  EXPECT_EQ(render_result("ListQueueTags", {{"Tags", json::object()}}, "rid"),
            wrap("ListQueueTags", "<ListQueueTagsResult/>"));
  EXPECT_EQ(render_result("ListDeadLetterSourceQueues", {{"queueUrls", json::array()}}, "rid"),
            wrap("ListDeadLetterSourceQueues", "<ListDeadLetterSourceQueuesResult/>"));
  EXPECT_EQ(render_result("ListMessageMoveTasks", {{"Results", json::array()}}, "rid"),
            wrap("ListMessageMoveTasks", "<ListMessageMoveTasksResult/>"));
}

TEST(SqsQueryRender, BatchResultsWithFailures) {
  const json out = {
      {"Successful",
       {{{"Id", "a"}, {"MessageId", "m1"}, {"MD5OfMessageBody", "x"}, {"SequenceNumber", "1"}}}},
      {"Failed",
       {{{"Id", "b"},
         {"SenderFault", true},
         {"Code", "InvalidMessageContents"},
         {"Message", "bad <chars>"}},
        {{"Id", "c"}, {"SenderFault", false}, {"Code", "InternalFailure"}}}}};
  EXPECT_EQ(render_result("SendMessageBatch", out, "rid"),
            wrap("SendMessageBatch",
                 "<SendMessageBatchResult>"
                 "<SendMessageBatchResultEntry><Id>a</Id><MessageId>m1</MessageId>"
                 "<MD5OfMessageBody>x</MD5OfMessageBody><SequenceNumber>1</SequenceNumber>"
                 "</SendMessageBatchResultEntry>"
                 "<BatchResultErrorEntry><Id>b</Id><SenderFault>true</SenderFault>"
                 "<Code>InvalidMessageContents</Code><Message>bad &lt;chars&gt;</Message>"
                 "</BatchResultErrorEntry>"
                 "<BatchResultErrorEntry><Id>c</Id><SenderFault>false</SenderFault>"
                 "<Code>InternalFailure</Code></BatchResultErrorEntry>"
                 "</SendMessageBatchResult>"));
  EXPECT_EQ(render_result(
                "DeleteMessageBatch",
                {{"Successful", {{{"Id", "a"}}, {{"Id", "b"}}}}, {"Failed", json::array()}}, "rid"),
            wrap("DeleteMessageBatch",
                 "<DeleteMessageBatchResult><DeleteMessageBatchResultEntry><Id>a</Id>"
                 "</DeleteMessageBatchResultEntry><DeleteMessageBatchResultEntry><Id>b</Id>"
                 "</DeleteMessageBatchResultEntry></DeleteMessageBatchResult>"));
  EXPECT_EQ(render_result("ChangeMessageVisibilityBatch",
                          {{"Successful", json::array()},
                           {"Failed",
                            {{{"Id", "a"},
                              {"SenderFault", true},
                              {"Code", "ReceiptHandleIsInvalid"},
                              {"Message", "m"}}}}},
                          "rid"),
            wrap("ChangeMessageVisibilityBatch",
                 "<ChangeMessageVisibilityBatchResult><BatchResultErrorEntry><Id>a</Id>"
                 "<SenderFault>true</SenderFault><Code>ReceiptHandleIsInvalid</Code>"
                 "<Message>m</Message></BatchResultErrorEntry>"
                 "</ChangeMessageVisibilityBatchResult>"));
}

TEST(SqsQueryRender, ListQueuesAndDeadLetterSourceQueues) {
  EXPECT_EQ(render_result("ListQueues", {{"QueueUrls", {"u1", "u2"}}, {"NextToken", "t"}}, "rid"),
            wrap("ListQueues",
                 "<ListQueuesResult><QueueUrl>u1</QueueUrl><QueueUrl>u2</QueueUrl>"
                 "<NextToken>t</NextToken></ListQueuesResult>"));
  EXPECT_EQ(render_result("ListDeadLetterSourceQueues", {{"queueUrls", {"u1"}}}, "rid"),
            wrap("ListDeadLetterSourceQueues",
                 "<ListDeadLetterSourceQueuesResult><QueueUrl>u1</QueueUrl>"
                 "</ListDeadLetterSourceQueuesResult>"));
}

TEST(SqsQueryRender, GetQueueAttributesAndListQueueTags) {
  EXPECT_EQ(
      render_result("GetQueueAttributes",
                    {{"Attributes",
                      {{"VisibilityTimeout", "30"}, {"Policy", R"({"Version":"2012-10-17"})"}}}},
                    "rid"),
      wrap("GetQueueAttributes",
           "<GetQueueAttributesResult>"
           "<Attribute><Name>Policy</Name><Value>{&quot;Version&quot;:&quot;2012-10-17"
           "&quot;}</Value></Attribute>"
           "<Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute>"
           "</GetQueueAttributesResult>"));
  EXPECT_EQ(render_result("ListQueueTags", {{"Tags", {{"k1", "v1"}, {"k2", ""}}}}, "rid"),
            wrap("ListQueueTags",
                 "<ListQueueTagsResult><Tag><Key>k1</Key><Value>v1</Value></Tag>"
                 "<Tag><Key>k2</Key><Value></Value></Tag></ListQueueTagsResult>"));
}

TEST(SqsQueryRender, ListMessageMoveTasks) {
  const json out = {{"Results",
                     {{{"TaskHandle", "th"},
                       {"Status", "RUNNING"},
                       {"SourceArn", "s"},
                       {"DestinationArn", "d"},
                       {"MaxNumberOfMessagesPerSecond", 5},
                       {"ApproximateNumberOfMessagesMoved", 3},
                       {"ApproximateNumberOfMessagesToMove", 10},
                       {"StartedTimestamp", 1700000000000}},
                      {{"Status", "FAILED"},
                       {"SourceArn", "s"},
                       {"ApproximateNumberOfMessagesMoved", 0},
                       {"FailureReason", "AWS.SimpleQueueService.NonExistentQueue"},
                       {"StartedTimestamp", 1}}}}};
  EXPECT_EQ(render_result("ListMessageMoveTasks", out, "rid"),
            wrap("ListMessageMoveTasks",
                 "<ListMessageMoveTasksResult>"
                 "<ListMessageMoveTasksResultEntry><TaskHandle>th</TaskHandle>"
                 "<Status>RUNNING</Status><SourceArn>s</SourceArn>"
                 "<DestinationArn>d</DestinationArn>"
                 "<MaxNumberOfMessagesPerSecond>5</MaxNumberOfMessagesPerSecond>"
                 "<ApproximateNumberOfMessagesMoved>3</ApproximateNumberOfMessagesMoved>"
                 "<ApproximateNumberOfMessagesToMove>10</ApproximateNumberOfMessagesToMove>"
                 "<StartedTimestamp>1700000000000</StartedTimestamp>"
                 "</ListMessageMoveTasksResultEntry>"
                 "<ListMessageMoveTasksResultEntry><Status>FAILED</Status>"
                 "<SourceArn>s</SourceArn>"
                 "<ApproximateNumberOfMessagesMoved>0</ApproximateNumberOfMessagesMoved>"
                 "<FailureReason>AWS.SimpleQueueService.NonExistentQueue</FailureReason>"
                 "<StartedTimestamp>1</StartedTimestamp></ListMessageMoveTasksResultEntry>"
                 "</ListMessageMoveTasksResult>"));
}

TEST(SqsQueryRender, UnknownMembersAndWrongTypesAreLeftOut) {
  EXPECT_EQ(render_result("CreateQueue", {{"QueueUrl", "u"}, {"Extra", 1}}, "rid"),
            wrap("CreateQueue", "<CreateQueueResult><QueueUrl>u</QueueUrl></CreateQueueResult>"));
  EXPECT_EQ(render_result("ListQueues", {{"QueueUrls", "not-a-list"}}, "rid"),
            wrap("ListQueues", "<ListQueuesResult/>"));
  EXPECT_EQ(render_result("ListQueues", json::array(), "rid"),
            wrap("ListQueues", "<ListQueuesResult/>"));
  // The request id is text too.
  EXPECT_NE(
      render_result("PurgeQueue", json::object(), "a&b").find("<RequestId>a&amp;b</RequestId>"),
      std::string::npos);
}

TEST(SqsQueryRender, Errors) {
  EXPECT_EQ(render_error(make_error(ErrorCode::kQueueDoesNotExist,
                                    "The specified queue does not exist for this wsdl version."),
                         "rid"),
            "<ErrorResponse" + std::string(kNs) +
                "><Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>"
                "<Message>The specified queue does not exist for this wsdl version.</Message>"
                "<Detail/></Error><RequestId>rid</RequestId></ErrorResponse>");
  EXPECT_EQ(render_error(make_error(ErrorCode::kSystem, "disk <full>"), "r2"),
            "<ErrorResponse" + std::string(kNs) +
                "><Error><Type>Receiver</Type><Code>InternalFailure</Code>"
                "<Message>disk &lt;full&gt;</Message><Detail/></Error><RequestId>r2</RequestId>"
                "</ErrorResponse>");
  const std::string parse_err = render_error(parse_error("Action=Nope"), "r3");
  EXPECT_NE(parse_err.find("<Code>InvalidAction</Code>"), std::string::npos);
  EXPECT_NE(render_error(parse_error("MessageBody=x"), "r").find("<Code>MissingAction</Code>"),
            std::string::npos);
}

// Round trip: an input rendered as Query parameters by hand for every map/list flavour, parsed
// back, then rendered as XML of the action whose output has the same shape family.
TEST(SqsQueryRoundTrip, ReceivedMessageCarriesWhatWasSent) {
  const auto sent = parse_ok(
      q1_body("SendMessage",
              "&MessageBody=%22%26quot%3B%26quot%3B%0D&MessageAttribute.1.Name=k&"
              "MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=%0D"));
  const json out = {{"Messages",
                     {{{"Body", sent.input["MessageBody"]},
                       {"MessageAttributes", sent.input["MessageAttributes"]}}}}};
  EXPECT_EQ(render_result("ReceiveMessage", out, "rid"),
            wrap("ReceiveMessage",
                 "<ReceiveMessageResult><Message><Body>&quot;&amp;quot;&amp;quot;&#xD;</Body>"
                 "<MessageAttribute><Name>k</Name><Value><StringValue>&#xD;</StringValue>"
                 "<DataType>String</DataType></Value></MessageAttribute></Message>"
                 "</ReceiveMessageResult>"));
}

}  // namespace
}  // namespace lqs::daemon::query
