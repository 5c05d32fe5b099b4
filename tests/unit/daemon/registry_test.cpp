// Copyright lqs authors. Registry and housekeeping tests: SQS control-plane rules, metadata that
// survives a restart, and the housekeeping agent stepped with a fake clock.
#include "daemon/registry.hpp"

#include "daemon/housekeeper.hpp"
#include "daemon/move_tasks.hpp"
#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace lqs::daemon {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = root_.path() + "-data";
    inst_.shm_root = root_.path();
    inst_.data_dir = data_dir_;
    inst_.clock = &clock_;
    reopen();
  }
  void TearDown() override {
    reg_.reset();
    fs::remove_all(data_dir_);
  }
  void reopen() {
    reg_.reset();
    auto r = Registry::open(inst_);
    ASSERT_TRUE(r) << r.error().message;
    reg_ = std::move(r).value();
  }
  Queue open_queue(const std::string& name) {
    QueueLocation w;
    w.shm_root = root_.path();
    w.name = name;
    w.clock = &clock_;
    auto q = Queue::open(w);
    EXPECT_TRUE(q) << q.error().message;
    return std::move(q).value();
  }

  // A new queue `name` (VisibilityTimeout 5 s) holding one message, received and so leased.
  Queue queue_with_one_lease(const std::string& name) {
    EXPECT_TRUE(reg_->create_queue(name, {{"VisibilityTimeout", "5"}}));
    Queue q = open_queue(name);
    SendRequest r;
    r.body = "leased";
    EXPECT_TRUE(q.send(r));
    ReceiveBatch b;
    EXPECT_TRUE(q.receive(b));
    EXPECT_EQ(b.count, 1u);
    return q;
  }

  test::TempShmRoot root_;
  test::FakeClock clock_;
  std::string data_dir_;
  Instance inst_;
  std::unique_ptr<Registry> reg_;
};

TEST_F(RegistryTest, CreateIsIdempotentAndADifferentValueIsQueueNameExists) {
  ASSERT_TRUE(reg_->create_queue("orders", {{"VisibilityTimeout", "60"}}));
  EXPECT_TRUE(reg_->create_queue("orders", {{"VisibilityTimeout", "60"}}));
  EXPECT_TRUE(reg_->create_queue("orders", {}));  // no attributes: returns the existing queue
  auto clash = reg_->create_queue("orders", {{"VisibilityTimeout", "61"}});
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, ErrorCode::kQueueNameExists);
  EXPECT_EQ(clash.error().message,
            "A queue already exists with the same name and a different value for attribute "
            "VisibilityTimeout");
  EXPECT_EQ(sqs_legacy_code(clash.error().code), "QueueAlreadyExists");
  EXPECT_TRUE(reg_->get_queue_url("orders"));
  EXPECT_EQ(reg_->get_queue_url("nope").error().code, ErrorCode::kQueueDoesNotExist);
}

TEST_F(RegistryTest, BadNamesAndAttributesGetSqsErrors) {
  struct Case {
    std::string name;
    AttributeMap attrs;
    ErrorCode code;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"bad.fifo", {}, ErrorCode::kInvalidParameterValue, "Can only include alphanumeric"},
      {std::string(81, 'a'), {}, ErrorCode::kInvalidParameterValue, "1 to 80 in length"},
      {"", {}, ErrorCode::kInvalidParameterValue, "1 to 80"},
      {"q",
       {{"VisibilityTimeout", "43201"}},
       ErrorCode::kInvalidAttributeValue,
       "VisibilityTimeout"},
      {"q", {{"DelaySeconds", "abc"}}, ErrorCode::kInvalidAttributeValue, "DelaySeconds"},
      {"q", {{"Foobar", "1"}}, ErrorCode::kInvalidAttributeName, "Unknown Attribute Foobar."},
      {"q",
       {{"FifoQueue", "false"}},
       ErrorCode::kInvalidAttributeName,
       "Unknown Attribute FifoQueue."},
      {"q", {{"FifoQueue", "true"}}, ErrorCode::kInvalidParameterValue, "1 to 80 in length"},
      {"q",
       {{"ContentBasedDeduplication", "true"}},
       ErrorCode::kInvalidAttributeName,
       "Unknown Attribute ContentBasedDeduplication."},
      {"q",
       {{"DeduplicationScope", "queue"}},
       ErrorCode::kInvalidAttributeName,
       "You can specify the DeduplicationScope only when FifoQueue is set to true."},
      {"q",
       {{"RedrivePolicy", "{}"}},
       ErrorCode::kInvalidParameterValue,
       "The required parameter 'deadLetterTargetArn' is missing"},
      {"q", {{"QueueArn", "x"}}, ErrorCode::kInvalidAttributeName, "Unknown Attribute QueueArn."},
      {"q", {{"Policy", "{not json"}}, ErrorCode::kInvalidAttributeValue, "Policy"},
      {"q",
       {{"KmsMasterKeyId", "alias/aws/sqs"}, {"SqsManagedSseEnabled", "true"}},
       ErrorCode::kInvalidAttributeName,
       "one type of server-side encryption"},
  };
  for (const Case& c : cases) {
    auto r = reg_->create_queue(c.name, c.attrs);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().message;
    EXPECT_NE(r.error().message.find(c.message_part), std::string::npos) << r.error().message;
  }
  EXPECT_TRUE(reg_->queue_names().empty());  // nothing half-created
  EXPECT_TRUE(Queue::list(root_.path()).empty());
}

TEST_F(RegistryTest, NameReusedWithin60SecondsOfDeleteIsQueueDeletedRecently) {
  ASSERT_TRUE(reg_->create_queue("jobs", {}));
  ASSERT_TRUE(reg_->delete_queue("jobs"));
  EXPECT_EQ(reg_->delete_queue("jobs").error().code, ErrorCode::kQueueDoesNotExist);
  EXPECT_TRUE(Queue::list(root_.path()).empty());
  clock_.advance(59s);
  auto again = reg_->create_queue("jobs", {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kQueueDeletedRecently);
  EXPECT_EQ(again.error().message,
            "You must wait 60 seconds after deleting a queue before you can create another "
            "with the same name.");
  reopen();  // the rule survives a daemon restart
  EXPECT_EQ(reg_->create_queue("jobs", {}).error().code, ErrorCode::kQueueDeletedRecently);
  clock_.advance(1s);
  EXPECT_TRUE(reg_->create_queue("jobs", {}));
}

TEST_F(RegistryTest, ListQueuesFiltersByPrefixAndPages) {
  for (const char* n : {"a-1", "a-2", "a-3", "b-1", "a-4"}) ASSERT_TRUE(reg_->create_queue(n, {}));
  auto all = reg_->list_queues("", std::nullopt, "");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->names, (std::vector<std::string>{"a-1", "a-2", "a-3", "a-4", "b-1"}));
  EXPECT_TRUE(all->next_token.empty());  // no MaxResults: no token
  std::vector<std::string> paged;
  std::string token;
  int pages = 0;
  do {
    auto p = reg_->list_queues("a-", 3, token);
    ASSERT_TRUE(p) << p.error().message;
    paged.insert(paged.end(), p->names.begin(), p->names.end());
    token = p->next_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(paged, (std::vector<std::string>{"a-1", "a-2", "a-3", "a-4"}));
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(reg_->list_queues("", 0, "").error().code, ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(reg_->list_queues("", 1001, "").error().code, ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(reg_->list_queues("", 2, "zz!").error().code, ErrorCode::kInvalidParameterValue);
}

TEST_F(RegistryTest, GetQueueAttributesAllGivesSqsKeysAndLiveCounts) {
  ASSERT_TRUE(reg_->create_queue("q", {}));
  const std::vector<std::string> all = {"All"};
  auto a = reg_->get_queue_attributes("q", all);
  ASSERT_TRUE(a) << a.error().message;
  std::set<std::string> keys;
  for (const auto& [k, v] : *a) keys.insert(k);
  EXPECT_EQ(keys,
            (std::set<std::string>{
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed",
                "ApproximateNumberOfMessagesNotVisible", "CreatedTimestamp", "DelaySeconds",
                "LastModifiedTimestamp", "MaximumMessageSize", "MessageRetentionPeriod", "QueueArn",
                "ReceiveMessageWaitTimeSeconds", "SqsManagedSseEnabled", "VisibilityTimeout"}));
  EXPECT_EQ((*a)["QueueArn"], "arn:aws:sqs:us-east-1:000000000000:q");
  EXPECT_EQ((*a)["MaximumMessageSize"], "1048576");
  EXPECT_EQ((*a)["VisibilityTimeout"], "30");
  EXPECT_EQ((*a)["SqsManagedSseEnabled"], "true");
  EXPECT_EQ((*a)["CreatedTimestamp"], std::to_string(clock_.unix_ms() / 1000));
  // Counts follow the queue.
  Queue q = open_queue("q");
  SendRequest r;
  r.body = "x";
  ASSERT_TRUE(q.send(r));
  ASSERT_TRUE(q.send(r));
  r.delay_s = 10;
  ASSERT_TRUE(q.send(r));
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b));
  ASSERT_EQ(b.count, 1u);
  a = reg_->get_queue_attributes("q", all);
  EXPECT_EQ((*a)["ApproximateNumberOfMessages"], "1");
  EXPECT_EQ((*a)["ApproximateNumberOfMessagesNotVisible"], "1");
  EXPECT_EQ((*a)["ApproximateNumberOfMessagesDelayed"], "1");
  // No names: an empty map. Unknown: InvalidAttributeName. By name: lqs capacities too.
  EXPECT_TRUE(reg_->get_queue_attributes("q", {})->empty());
  const std::vector<std::string> bad = {"Foobar"};
  EXPECT_EQ(reg_->get_queue_attributes("q", bad).error().message, "Unknown Attribute Foobar.");
  const std::vector<std::string> cap = {"LqsCapacityMessages"};
  EXPECT_EQ(reg_->get_queue_attributes("q", cap)->at("LqsCapacityMessages"), "65536");
  EXPECT_EQ(reg_->get_queue_attributes("nope", all).error().code, ErrorCode::kQueueDoesNotExist);
}

TEST_F(RegistryTest, SetQueueAttributesAppliesValidatesAndPersists) {
  ASSERT_TRUE(reg_->create_queue("q", {}));
  clock_.advance(5s);
  ASSERT_TRUE(reg_->set_queue_attributes(
      "q", {{"VisibilityTimeout", "5"}, {"Policy", R"({"Version":"2012-10-17"})"}}));
  EXPECT_EQ(open_queue("q").attributes().visibility_timeout_s, 5);  // the segment changed
  const std::vector<std::string> names = {"VisibilityTimeout", "Policy", "LastModifiedTimestamp",
                                          "CreatedTimestamp"};
  auto a = reg_->get_queue_attributes("q", names);
  EXPECT_EQ((*a)["VisibilityTimeout"], "5");
  EXPECT_EQ((*a)["Policy"], R"({"Version":"2012-10-17"})");
  EXPECT_EQ(std::stoll((*a)["LastModifiedTimestamp"]) - std::stoll((*a)["CreatedTimestamp"]), 5);
  EXPECT_EQ(reg_->set_queue_attributes("q", {{"LqsCapacityMessages", "100"}}).error().code,
            ErrorCode::kInvalidAttributeValue);
  EXPECT_EQ(reg_->set_queue_attributes("q", {{"FifoQueue", "true"}}).error().message,
            "Unknown Attribute FifoQueue.");
  EXPECT_EQ(reg_->set_queue_attributes("q", {{"MessageRetentionPeriod", "59"}}).error().code,
            ErrorCode::kInvalidAttributeValue);
  EXPECT_EQ(reg_->set_queue_attributes("q", {}).error().code, ErrorCode::kMissingParameter);
  EXPECT_EQ(reg_->set_queue_attributes("nope", {{"DelaySeconds", "1"}}).error().code,
            ErrorCode::kQueueDoesNotExist);
  reopen();
  a = reg_->get_queue_attributes("q", names);
  EXPECT_EQ((*a)["Policy"], R"({"Version":"2012-10-17"})");
  EXPECT_EQ((*a)["VisibilityTimeout"], "5");
}

TEST_F(RegistryTest, PurgeDeletesEverythingOncePerMinute) {
  ASSERT_TRUE(reg_->create_queue("q", {}));
  Queue q = open_queue("q");
  SendRequest r;
  r.body = "x";
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.send(r));
  ASSERT_TRUE(reg_->purge_queue("q"));
  EXPECT_EQ(q.counts().visible, 0u);
  auto again = reg_->purge_queue("q");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kPurgeQueueInProgress);
  EXPECT_EQ(again.error().message,
            "Only one PurgeQueue operation on q is allowed every 60 seconds.");
  EXPECT_EQ(sqs_http_status(again.error().code), 403);
  clock_.advance(60s);
  EXPECT_TRUE(reg_->purge_queue("q"));
}

TEST_F(RegistryTest, TagsAreValidatedOverwrittenRemovedAndPersisted) {
  ASSERT_TRUE(reg_->create_queue("q", {}, {{"team", "pay"}}));
  ASSERT_TRUE(reg_->tag_queue("q", {{"team", "ops"}, {"env", "prod"}}));
  EXPECT_EQ(*reg_->list_queue_tags("q"), (TagMap{{"env", "prod"}, {"team", "ops"}}));
  const std::vector<std::string> keys = {"env", "missing"};
  ASSERT_TRUE(reg_->untag_queue("q", keys));
  EXPECT_EQ(*reg_->list_queue_tags("q"), (TagMap{{"team", "ops"}}));
  EXPECT_EQ(reg_->tag_queue("q", {{"aws:x", "1"}}).error().code, ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(reg_->tag_queue("q", {{"", "1"}}).error().code, ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(reg_->tag_queue("q", {{"k", std::string(257, 'v')}}).error().code,
            ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(reg_->tag_queue("q", {{"bad#key", "v"}}).error().code,
            ErrorCode::kInvalidParameterValue);
  reopen();
  EXPECT_EQ(*reg_->list_queue_tags("q"), (TagMap{{"team", "ops"}}));
}

TEST_F(RegistryTest, ReopenAdoptsLibraryQueuesAndRecreatesLostSegments) {
  ASSERT_TRUE(reg_->create_queue("declared", {{"DelaySeconds", "7"}}));
  {
    QueueLocation w;
    w.shm_root = root_.path();
    w.name = "direct";
    w.clock = &clock_;
    Queue q = Queue::create(w, {}).value();
    SendRequest r;
    r.body = "kept";
    ASSERT_TRUE(q.send(r));
  }
  reopen();
  EXPECT_EQ(reg_->queue_names(), (std::vector<std::string>{"declared", "direct"}));
  EXPECT_TRUE(fs::exists(fs::path(data_dir_) / "queues" / "direct.json"));
  EXPECT_EQ(open_queue("direct").counts().visible, 1u);  // adopted with its message
  // The shm root is lost (as after a reboot): the declared queue comes back, empty, with its
  // attributes.
  reg_.reset();
  fs::remove_all(root_.path());
  reopen();
  EXPECT_EQ(reg_->queue_names(), (std::vector<std::string>{"declared", "direct"}));
  EXPECT_EQ(open_queue("declared").attributes().delay_s, 7);
  EXPECT_EQ(open_queue("direct").counts().visible, 0u);
}

TEST_F(RegistryTest, CorruptMetadataIsAClearErrorNotACrash) {
  ASSERT_TRUE(reg_->create_queue("q", {}));
  reg_.reset();
  std::ofstream(fs::path(data_dir_) / "queues" / "q.json") << "{ truncated";
  auto r = Registry::open(inst_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  EXPECT_NE(r.error().message.find("q.json"), std::string::npos) << r.error().message;
}

TEST_F(RegistryTest, RedrivePoliciesAreValidatedAppliedListedAndSurviveARestart) {
  const std::string dlq_arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
  ASSERT_TRUE(reg_->create_queue("dlq", {}));
  const std::string policy =
      R"({"deadLetterTargetArn":")" + dlq_arn + R"(","maxReceiveCount":"2"})";
  ASSERT_TRUE(reg_->create_queue("src", {{"RedrivePolicy", policy}}));
  EXPECT_EQ(open_queue("src").redrive_policy(), (RedrivePolicy{"dlq", 2}));
  const std::vector<std::string> all = {"All"};
  EXPECT_EQ(reg_->get_queue_attributes("src", all)->at("RedrivePolicy"),
            R"({"deadLetterTargetArn":")" + dlq_arn + R"(","maxReceiveCount":2})");
  EXPECT_TRUE(reg_->create_queue("src", {{"RedrivePolicy", policy}}));  // idempotent
  // Errors, each with SQS's reason.
  auto expect_bad = [&](const std::string& value, const std::string& reason) {
    auto r = reg_->set_queue_attributes("src", {{"RedrivePolicy", value}});
    ASSERT_FALSE(r) << value;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameterValue) << value;
    EXPECT_NE(r.error().message.find(reason), std::string::npos) << r.error().message;
  };
  expect_bad(R"({"maxReceiveCount":3})", "The required parameter 'deadLetterTargetArn' is missing");
  expect_bad(R"({"deadLetterTargetArn":")" + dlq_arn + R"("})",
             "The required parameter 'maxReceiveCount' is missing");
  expect_bad(R"({"deadLetterTargetArn":")" + dlq_arn + R"(","maxReceiveCount":1001})",
             "valid values are from 1 to 1000 both inclusive");
  expect_bad(
      R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:none","maxReceiveCount":1})",
      "Dead-letter target does not exist.");
  expect_bad(
      R"({"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:000000000000:dlq","maxReceiveCount":1})",
      "Dead-letter target does not exist.");
  expect_bad(
      R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:src","maxReceiveCount":1})",
      "its own dead-letter queue");
  expect_bad("not json", "not a valid JSON map");
  EXPECT_EQ(open_queue("src").redrive_policy(), (RedrivePolicy{"dlq", 2}));  // unchanged
  // RedriveAllowPolicy on the target decides who may use it.
  ASSERT_TRUE(reg_->create_queue("guarded",
                                 {{"RedriveAllowPolicy", R"({"redrivePermission":"denyAll"})"}}));
  const std::string to_guarded =
      R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:guarded","maxReceiveCount":1})";
  expect_bad(to_guarded, "does not allow this source queue");
  ASSERT_TRUE(reg_->set_queue_attributes(
      "guarded",
      {{"RedriveAllowPolicy",
        R"({"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:000000000000:src"]})"}}));
  EXPECT_TRUE(reg_->set_queue_attributes("src", {{"RedrivePolicy", to_guarded}}));
  for (const std::string bad : {R"({"redrivePermission":"byQueue"})",
                                R"({"redrivePermission":"allowAll","sourceQueueArns":["x"]})",
                                R"({"redrivePermission":"maybe"})"}) {
    EXPECT_EQ(reg_->set_queue_attributes("guarded", {{"RedriveAllowPolicy", bad}}).error().code,
              ErrorCode::kInvalidParameterValue)
        << bad;
  }
  // ListDeadLetterSourceQueues.
  ASSERT_TRUE(reg_->set_queue_attributes("src", {{"RedrivePolicy", policy}}));
  ASSERT_TRUE(reg_->create_queue("src2", {{"RedrivePolicy", policy}}));
  EXPECT_EQ(reg_->list_dead_letter_source_queues("dlq", std::nullopt, "")->names,
            (std::vector<std::string>{"src", "src2"}));
  auto page = reg_->list_dead_letter_source_queues("dlq", 1, "");
  EXPECT_EQ(page->names, (std::vector<std::string>{"src"}));
  EXPECT_EQ(reg_->list_dead_letter_source_queues("dlq", 1, page->next_token)->names,
            (std::vector<std::string>{"src2"}));
  EXPECT_TRUE(reg_->list_dead_letter_source_queues("guarded", std::nullopt, "")->names.empty());
  EXPECT_EQ(reg_->list_dead_letter_source_queues("nope", std::nullopt, "").error().code,
            ErrorCode::kQueueDoesNotExist);
  // "" removes a policy.
  ASSERT_TRUE(reg_->set_queue_attributes("src2", {{"RedrivePolicy", ""}}));
  EXPECT_FALSE(open_queue("src2").redrive_policy());
  EXPECT_FALSE(reg_->get_queue_attributes("src2", all)->contains("RedrivePolicy"));
  // After losing the shm root, the re-created source gets its policy back.
  reg_.reset();
  fs::remove_all(root_.path());
  reopen();
  EXPECT_EQ(open_queue("src").redrive_policy(), (RedrivePolicy{"dlq", 2}));
  EXPECT_FALSE(open_queue("src2").redrive_policy());
}

TEST_F(RegistryTest, AddAndRemovePermissionWriteThePolicyAttribute) {
  ASSERT_TRUE(reg_->create_queue("q", {}));
  const std::vector<std::string> accounts = {"111122223333"};
  const std::vector<std::string> send = {"SendMessage"};
  ASSERT_TRUE(reg_->add_permission("q", "writers", accounts, send));
  const std::vector<std::string> two = {"111122223333", "444455556666"};
  const std::vector<std::string> read = {"ReceiveMessage", "DeleteMessage"};
  ASSERT_TRUE(reg_->add_permission("q", "readers", two, read));
  const std::vector<std::string> names = {"Policy"};
  const auto policy = nlohmann::json::parse(reg_->get_queue_attributes("q", names)->at("Policy"));
  EXPECT_EQ(policy["Version"], "2012-10-17");
  ASSERT_EQ(policy["Statement"].size(), 2u);
  EXPECT_EQ(policy["Statement"][0]["Sid"], "writers");
  EXPECT_EQ(policy["Statement"][0]["Principal"]["AWS"], "arn:aws:iam::111122223333:root");
  EXPECT_EQ(policy["Statement"][0]["Action"], "SQS:SendMessage");
  EXPECT_EQ(policy["Statement"][0]["Resource"], "arn:aws:sqs:us-east-1:000000000000:q");
  EXPECT_EQ(policy["Statement"][1]["Action"],
            nlohmann::json({"SQS:ReceiveMessage", "SQS:DeleteMessage"}));
  // SQS's errors.
  EXPECT_EQ(reg_->add_permission("q", "writers", accounts, send).error().message,
            "Value writers for parameter Label is invalid. Reason: Already exists.");
  EXPECT_EQ(reg_->remove_permission("q", "nobody").error().message,
            "Value nobody for parameter Label is invalid. Reason: can't find label.");
  const std::vector<std::string> bogus = {"FlyAway"};
  EXPECT_EQ(reg_->add_permission("q", "x", accounts, bogus).error().code,
            ErrorCode::kInvalidParameterValue);
  const std::vector<std::string> eight = {
      "SendMessage",        "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility",
      "GetQueueAttributes", "GetQueueUrl",    "PurgeQueue",    "ListQueueTags"};
  EXPECT_EQ(reg_->add_permission("q", "x", accounts, eight).error().code, ErrorCode::kOverLimit);
  const std::vector<std::string> bad_account = {"12"};
  EXPECT_EQ(reg_->add_permission("q", "x", bad_account, send).error().code,
            ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(reg_->add_permission("q", "x", {}, send).error().code, ErrorCode::kMissingParameter);
  EXPECT_EQ(reg_->add_permission("q", "bad label", accounts, send).error().code,
            ErrorCode::kInvalidParameterValue);
  // Removal, and the attribute disappears with its last statement.
  ASSERT_TRUE(reg_->remove_permission("q", "writers"));
  reopen();
  EXPECT_EQ(nlohmann::json::parse(reg_->get_queue_attributes("q", names)->at("Policy"))["Statement"]
                .size(),
            1u);
  ASSERT_TRUE(reg_->remove_permission("q", "readers"));
  EXPECT_FALSE(reg_->get_queue_attributes("q", names)->contains("Policy"));
}

TEST_F(RegistryTest, MoveTasksRedriveDeadLettersAtTheirRateAndReportSqsStatus) {
  const std::string dlq_arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
  const std::string src_arn = "arn:aws:sqs:us-east-1:000000000000:src";
  ASSERT_TRUE(reg_->create_queue("dlq", {}));
  ASSERT_TRUE(reg_->create_queue("src", {{"RedrivePolicy", R"({"deadLetterTargetArn":")" + dlq_arn +
                                                               R"(","maxReceiveCount":1})"}}));
  ASSERT_TRUE(reg_->create_queue("other", {}));
  // Five poison messages reach the dead-letter queue through the engine's redrive.
  Queue src = open_queue("src");
  std::set<std::string> original_ids;
  for (int i = 0; i < 5; ++i) {
    SendRequest r;
    const std::string body = "job-" + std::to_string(i);
    r.body = body;
    original_ids.insert(src.send(r)->message_id.to_string());
  }
  ReceiveBatch b;
  ReceiveOptions o;
  o.max_number_of_messages = 10;
  o.visibility_timeout_s = 1;
  ASSERT_TRUE(src.receive(b, o));
  ASSERT_EQ(b.count, 5u);
  clock_.advance(2s);
  ASSERT_TRUE(src.receive(b, o));
  ASSERT_EQ(b.count, 0u);
  ASSERT_EQ(open_queue("dlq").counts().visible, 5u);

  MoveTasks tasks(*reg_);
  int64_t now = clock_.unix_ms();
  // SQS's errors first.
  EXPECT_EQ(tasks.start(src_arn, "", std::nullopt, now).error().message,
            "Source queue must be configured as a Dead Letter Queue.");
  EXPECT_EQ(
      tasks.start("arn:aws:sqs:us-east-1:000000000000:none", "", std::nullopt, now).error().code,
      ErrorCode::kResourceNotFound);
  EXPECT_EQ(tasks.start(dlq_arn, "arn:aws:sqs:us-east-1:000000000000:none", std::nullopt, now)
                .error()
                .message,
            "The resource that you specified for the DestinationArn parameter doesn't exist.");
  EXPECT_EQ(tasks.start(dlq_arn, "", 501, now).error().code, ErrorCode::kInvalidParameterValue);
  // Back to each message's source at 2 messages per second.
  auto handle = tasks.start(dlq_arn, "", 2, now);
  ASSERT_TRUE(handle) << handle.error().message;
  EXPECT_EQ(tasks.start(dlq_arn, "", 2, now).error().message,
            "There is already a task running. Only one active task is allowed for a source "
            "queue arn at a given time.");
  auto listed = tasks.list(dlq_arn, std::nullopt);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].status, "RUNNING");
  EXPECT_EQ((*listed)[0].task_handle, *handle);
  EXPECT_EQ((*listed)[0].approximate_messages_to_move, 5u);
  EXPECT_EQ(tasks.do_work(now), 0u);  // no time has passed: the rate allows nothing yet
  EXPECT_EQ(tasks.do_work(now + 1000), 2u);
  EXPECT_EQ(tasks.do_work(now + 1500), 1u);
  EXPECT_EQ(tasks.do_work(now + 10000), 2u);  // the bucket holds at most one second
  listed = tasks.list(dlq_arn, 10);
  EXPECT_EQ((*listed)[0].status, "COMPLETED");
  EXPECT_TRUE((*listed)[0].task_handle.empty());
  EXPECT_EQ((*listed)[0].approximate_messages_moved, 5u);
  EXPECT_EQ((*listed)[0].started_timestamp_ms, now);
  // They are new messages in their source queue: same bodies, new MessageIds.
  EXPECT_EQ(open_queue("dlq").counts().visible, 0u);
  ReceiveOptions all;
  all.max_number_of_messages = 10;
  ASSERT_TRUE(src.receive(b, all));
  ASSERT_EQ(b.count, 5u);
  for (size_t i = 0; i < b.count; ++i) {
    EXPECT_TRUE(b.messages[i].body.starts_with("job-"));
    EXPECT_FALSE(original_ids.contains(b.messages[i].message_id.to_string()));
    EXPECT_EQ(b.messages[i].receive_count, 1u);
  }
  // Cancel: an explicit destination, stopped after the first second.
  for (size_t i = 0; i < b.count; ++i) {  // fail them all once more: back into the DLQ
    ASSERT_TRUE(src.change_visibility(b.messages[i].receipt_handle, 0));
  }
  ASSERT_TRUE(src.receive(b, o));
  EXPECT_EQ(b.count, 0u);
  ASSERT_EQ(open_queue("dlq").counts().visible, 5u);
  now = clock_.unix_ms();
  auto h2 = tasks.start(dlq_arn, "arn:aws:sqs:us-east-1:000000000000:other", 1, now);
  ASSERT_TRUE(h2) << h2.error().message;
  EXPECT_EQ(tasks.do_work(now + 1000), 1u);
  auto moved = tasks.cancel(*h2);
  ASSERT_TRUE(moved);
  EXPECT_EQ(*moved, 1u);
  EXPECT_EQ(tasks.do_work(now + 5000), 0u);
  EXPECT_EQ(open_queue("other").counts().visible, 1u);
  EXPECT_EQ(tasks.list(dlq_arn, 1)->at(0).status, "CANCELLED");
  EXPECT_EQ(tasks.list(dlq_arn, 5)->size(), 2u);
  EXPECT_EQ(tasks.cancel(*h2).error().code, ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(tasks.cancel("garbage").error().message, "Value for parameter TaskHandle is invalid.");
  EXPECT_EQ(tasks.cancel("lqs-move-99").error().code, ErrorCode::kResourceNotFound);
  EXPECT_EQ(tasks.list(dlq_arn, 11).error().code, ErrorCode::kInvalidParameterValue);
}

TEST_F(RegistryTest, HousekeeperExpiresLeasesDelaysAndRetentionWithNoReceiver) {
  Queue q = queue_with_one_lease("q");
  Housekeeper keeper(*reg_, 1000);
  const int64_t t0 = clock_.unix_ms();
  EXPECT_EQ(keeper.do_work(t0).leases_expired, 0u);
  EXPECT_EQ(keeper.do_work(t0 + 10).passes, 0u);  // not due again yet
  clock_.advance(6s);
  auto rep = keeper.do_work(clock_.unix_ms());
  EXPECT_EQ(rep.passes, 1u);
  EXPECT_EQ(rep.queues, 1u);
  EXPECT_EQ(rep.leases_expired, 1u);  // the reaper, not a receive, made it visible again
  // Delay promotion.
  SendRequest d;
  d.body = "delayed";
  d.delay_s = 3;
  ASSERT_TRUE(q.send(d));
  clock_.advance(4s);
  EXPECT_EQ(keeper.do_work(clock_.unix_ms()).leases_expired, 1u);
  // Retention: both messages are past a 60 s retention after 61 s.
  ASSERT_TRUE(reg_->set_queue_attributes("q", {{"MessageRetentionPeriod", "60"}}));
  clock_.advance(61s);
  EXPECT_EQ(keeper.do_work(clock_.unix_ms()).retention_expired, 2u);
  EXPECT_EQ(q.counts().visible + q.counts().delayed + q.counts().in_flight, 0u);
}

// The CPU budget: a queue's next pass waits budget_factor times its last pass's wall time when
// that is longer than the interval. A factor of 10^7 makes any pass (at least a microsecond)
// defer its queue for 10 s or more, and one of up to 3 s for at most 347 days: the test does
// not depend on this machine's speed.
TEST_F(RegistryTest, HousekeeperDefersAQueueWhoseLastPassWasLong) {
  Queue q = queue_with_one_lease("slow");
  ReceiveBatch b;
  Housekeeper keeper(*reg_, 1000, 10'000'000);
  const int64_t t0 = clock_.unix_ms();
  auto first = keeper.do_work(t0);
  EXPECT_EQ(first.queues, 1u);
  EXPECT_EQ(first.queues_deferred, 0u);
  clock_.advance(6s);  // the lease is due, and so is the next pass by the interval
  auto deferred = keeper.do_work(clock_.unix_ms());
  EXPECT_EQ(deferred.passes, 1u);
  EXPECT_EQ(deferred.queues, 0u);
  EXPECT_EQ(deferred.queues_deferred, 1u);
  EXPECT_EQ(deferred.leases_expired, 0u);
  // A queue created since has no pass behind it: it is due at once.
  ASSERT_TRUE(reg_->create_queue("new", {}));
  auto mixed = keeper.do_work(clock_.unix_ms() + 1000);
  EXPECT_EQ(mixed.queues, 1u);
  EXPECT_EQ(mixed.queues_deferred, 1u);
  // A receive does not wait for the housekeeper: it expires the lease itself.
  ASSERT_TRUE(q.receive(b));
  EXPECT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].receive_count, 2u);
  // Past the deferral the queue is passed over again.
  clock_.advance(std::chrono::hours(24 * 400));
  auto later = keeper.do_work(clock_.unix_ms());
  EXPECT_EQ(later.queues, 2u);
  EXPECT_EQ(later.queues_deferred, 0u);
}

// A queue deleted and created again under its name is a new queue: due at once, whatever the
// deferral of the old one (at least 1,000 s here, with a factor of 10^9).
TEST_F(RegistryTest, HousekeeperPassesOverAQueueCreatedAgainUnderItsName) {
  ASSERT_TRUE(reg_->create_queue("again", {}));
  Housekeeper keeper(*reg_, 1000, 1'000'000'000);
  EXPECT_EQ(keeper.do_work(clock_.unix_ms()).queues, 1u);
  clock_.advance(2s);
  EXPECT_EQ(keeper.do_work(clock_.unix_ms()).queues_deferred, 1u);
  ASSERT_TRUE(reg_->delete_queue("again"));
  clock_.advance(61s);  // SQS's quiet minute after a delete
  ASSERT_TRUE(reg_->create_queue("again", {}));
  const auto rep = keeper.do_work(clock_.unix_ms());
  EXPECT_EQ(rep.queues, 1u);
  EXPECT_EQ(rep.queues_deferred, 0u);
}

}  // namespace
}  // namespace lqs::daemon

namespace lqs::daemon {
namespace {

// A move task's state file: a second MoveTasks (a restarted lqsd) resumes the running task
// with its counts and handle; a file that is not a move-task file is a clear error.
TEST_F(RegistryTest, MoveTasksPersistAndResumeFromTheirStateFile) {
  const std::string dlq_arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
  ASSERT_TRUE(reg_->create_queue("dlq", {}));
  ASSERT_TRUE(reg_->create_queue("src", {{"RedrivePolicy", R"({"deadLetterTargetArn":")" + dlq_arn +
                                                               R"(","maxReceiveCount":1})"}}));
  Queue src = open_queue("src");
  for (int i = 0; i < 6; ++i) {
    SendRequest r;
    r.body = "job";
    ASSERT_TRUE(src.send(r));
  }
  ReceiveBatch b;
  ReceiveOptions o;
  o.max_number_of_messages = 10;
  o.visibility_timeout_s = 1;
  ASSERT_TRUE(src.receive(b, o));
  clock_.advance(2s);
  ASSERT_TRUE(src.receive(b, o));
  ASSERT_EQ(open_queue("dlq").counts().visible, 6u);
  const std::string state = data_dir_ + "/move_tasks.json";
  std::string handle;
  {
    MoveTasks tasks(*reg_, state);
    ASSERT_TRUE(tasks.load(clock_.unix_ms()));
    auto h = tasks.start(dlq_arn, "", 2, clock_.unix_ms());
    ASSERT_TRUE(h) << h.error().message;
    handle = *h;
    clock_.advance(1s);
    EXPECT_EQ(tasks.do_work(clock_.unix_ms()), 2u);
  }  // "killed": nothing but the file remains
  MoveTasks again(*reg_, state);
  ASSERT_TRUE(again.load(clock_.unix_ms()));
  auto l = again.list(dlq_arn, std::nullopt);
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].status, "RUNNING");
  EXPECT_EQ((*l)[0].task_handle, handle);
  EXPECT_EQ((*l)[0].approximate_messages_moved, 2u);
  EXPECT_EQ((*l)[0].approximate_messages_to_move, 6u);
  for (int i = 0; i < 4; ++i) {
    clock_.advance(1s);
    (void)again.do_work(clock_.unix_ms());
  }
  l = again.list(dlq_arn, std::nullopt);
  EXPECT_EQ((*l)[0].status, "COMPLETED");
  EXPECT_EQ((*l)[0].approximate_messages_moved, 6u);
  EXPECT_EQ(open_queue("src").counts().visible, 6u);
  // A new task gets a new handle (ids continue after the loaded ones).
  auto next = again.start(dlq_arn, "", 2, clock_.unix_ms());
  ASSERT_TRUE(next);
  EXPECT_NE(*next, handle);

  std::ofstream(state) << R"({"tasks": [{"id": "x"}]})";
  MoveTasks broken(*reg_, state);
  auto bad = broken.load(clock_.unix_ms());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kCorruption);
}

}  // namespace
}  // namespace lqs::daemon

namespace lqs::daemon {
namespace {

// FIFO queues through the registry: SQS's attribute rules, All listing, type-matched DLQs.
TEST_F(RegistryTest, FifoQueuesFollowSqsAttributeRules) {
  ASSERT_TRUE(reg_->create_queue("jobs.fifo",
                                 {{"FifoQueue", "true"}, {"ContentBasedDeduplication", "true"}}));
  // Idempotent with the same attributes; a different FIFO attribute is QueueAlreadyExists.
  EXPECT_TRUE(reg_->create_queue("jobs.fifo",
                                 {{"FifoQueue", "true"}, {"ContentBasedDeduplication", "true"}}));
  EXPECT_EQ(reg_->create_queue("jobs.fifo",
                               {{"FifoQueue", "true"}, {"ContentBasedDeduplication", "false"}})
                .error()
                .code,
            ErrorCode::kQueueNameExists);
  EXPECT_EQ(reg_->create_queue("x.fifo", {}).error().code, ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(reg_->create_queue("x.fifo", {{"FifoQueue", "true"}, {"DeduplicationScope", "all"}})
                .error()
                .code,
            ErrorCode::kInvalidAttributeValue);
  const std::vector<std::string> all = {"All"};
  auto a = reg_->get_queue_attributes("jobs.fifo", all);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->at("FifoQueue"), "true");
  EXPECT_EQ(a->at("ContentBasedDeduplication"), "true");
  EXPECT_EQ(a->at("DeduplicationScope"), "queue");
  EXPECT_EQ(a->at("FifoThroughputLimit"), "perQueue");
  // High throughput: both settable later.
  ASSERT_TRUE(reg_->set_queue_attributes(
      "jobs.fifo",
      {{"DeduplicationScope", "messageGroup"}, {"FifoThroughputLimit", "perMessageGroupId"}}));
  a = reg_->get_queue_attributes("jobs.fifo", all);
  EXPECT_EQ(a->at("DeduplicationScope"), "messageGroup");
  EXPECT_EQ(a->at("FifoThroughputLimit"), "perMessageGroupId");
  auto e = reg_->set_queue_attributes("jobs.fifo", {{"FifoQueue", "false"}});
  EXPECT_EQ(e.error().code, ErrorCode::kInvalidAttributeValue);
  EXPECT_EQ(e.error().message,
            "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not "
            "supported.");
  // A standard queue does not list or accept them.
  ASSERT_TRUE(reg_->create_queue("plain", {}));
  EXPECT_FALSE(reg_->get_queue_attributes("plain", all)->contains("FifoQueue"));
  EXPECT_EQ(
      reg_->set_queue_attributes("plain", {{"ContentBasedDeduplication", "true"}}).error().code,
      ErrorCode::kInvalidAttributeName);
  // Dead-letter queues of the same type only.
  const std::string plain_arn =
      R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:plain","maxReceiveCount":3})";
  const std::string fifo_arn =
      R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:jobs.fifo","maxReceiveCount":3})";
  e = reg_->set_queue_attributes("jobs.fifo", {{"RedrivePolicy", plain_arn}});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("same type"), std::string::npos);
  EXPECT_FALSE(reg_->set_queue_attributes("plain", {{"RedrivePolicy", fifo_arn}}));
  ASSERT_TRUE(reg_->create_queue("dlq.fifo", {{"FifoQueue", "true"}}));
  EXPECT_TRUE(reg_->set_queue_attributes(
      "jobs.fifo",
      {{"RedrivePolicy",
        R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq.fifo","maxReceiveCount":3})"}}));
  // No cycle of FIFO dead-letter queues (a message going round would be deduplicated away).
  e = reg_->set_queue_attributes(
      "dlq.fifo",
      {{"RedrivePolicy",
        R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:jobs.fifo","maxReceiveCount":3})"}});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("cycle"), std::string::npos) << e.error().message;
  // Survives a restart (the segment holds the FIFO attributes).
  reg_.reset();
  auto again = Registry::open(inst_);
  ASSERT_TRUE(again);
  a = (*again)->get_queue_attributes("jobs.fifo", all);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->at("FifoQueue"), "true");
  EXPECT_EQ(a->at("DeduplicationScope"), "messageGroup");
}

}  // namespace
}  // namespace lqs::daemon

namespace lqs::daemon {
namespace {

// The dedup-window cleanup agent: the housekeeper, stepped with the fake clock, drops FIFO
// deduplication records once their 5 minutes are over, and not before.
TEST_F(RegistryTest, HousekeeperDropsExpiredFifoDeduplicationRecords) {
  ASSERT_TRUE(reg_->create_queue("d.fifo", {{"FifoQueue", "true"}}));
  Queue q = open_queue("d.fifo");
  for (int i = 0; i < 7; ++i) {
    SendRequest r;
    const std::string body = "m" + std::to_string(i);
    r.body = body;
    r.message_group_id = "G";
    r.message_deduplication_id = body;
    ASSERT_TRUE(q.send(r));
  }
  Housekeeper keeper(*reg_, 1000);
  clock_.advance(299s);
  EXPECT_EQ(keeper.do_work(clock_.unix_ms()).dedup_records_expired, 0u);
  clock_.advance(2s);
  EXPECT_EQ(keeper.do_work(clock_.unix_ms()).dedup_records_expired, 7u);
  // The same ids are new messages now.
  SendRequest r;
  r.body = "m0";
  r.message_group_id = "G";
  r.message_deduplication_id = "m0";
  ASSERT_TRUE(q.send(r));
  EXPECT_EQ(q.counts().visible, 8u);
}

}  // namespace
}  // namespace lqs::daemon

namespace lqs::daemon {
namespace {

// A CreateQueue may not reserve more of the shm root than the instance allows.
TEST_F(RegistryTest, QueueCapacityIsCappedPerInstance) {
  auto e = reg_->create_queue("huge", {{"LqsCapacityBytes", "68719476736"}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, ErrorCode::kInvalidAttributeValue);
  EXPECT_NE(e.error().message.find("--max-queue-bytes"), std::string::npos);
  EXPECT_TRUE(reg_->create_queue("fits", {{"LqsCapacityBytes", "4194304"}}));
}

// A segment of an older layout version: lqsd refuses to start with the file named and the
// way out; once the file is deleted, the queue is re-created from its metadata (and listed in
// recreated(), so the durability agent restores it from the log).
TEST_F(RegistryTest, AnOlderSegmentLayoutIsRefusedWithTheWayOut) {
  ASSERT_TRUE(reg_->create_queue("old", {}));
  reg_.reset();
  const std::string seg = root_.path() + "/old.v1.seg";
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    f.seekp(8);  // layout_version (FORMAT.md)
    const uint32_t v1 = 1;
    f.write(reinterpret_cast<const char*>(&v1), sizeof v1);
  }
  auto r = Registry::open(inst_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIncompatibleVersion);
  EXPECT_NE(r.error().message.find("old.v1.seg"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("restores its messages from the log"), std::string::npos)
      << r.error().message;
  fs::remove(seg);
  reopen();
  EXPECT_EQ(reg_->recreated(), std::vector<std::string>{"old"});
  EXPECT_TRUE(reg_->queue("old"));
}

}  // namespace
}  // namespace lqs::daemon
