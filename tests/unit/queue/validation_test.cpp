// Copyright lqs authors. The SQS input rules (SQS_REFERENCE.md §1.3, §2, §3, §5.3), read as a
// specification: MD5 vectors recorded from AWS, the message-text character set at every
// boundary, the size rule, attribute rules, filters, queue attributes and the error table.
#include "queue/validation.hpp"

#include "lqs/message.hpp"
#include "lqs/queue_attributes.hpp"
#include "lqs/result.hpp"

#include "common/md5.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace lqs {
namespace {

using common::md5;
using common::md5_of_message_attributes;
using common::md5_of_sorted_message_attributes;
using common::md5_of_trace_header;
using queue::is_valid_message_text;

// ---- helpers ---------------------------------------------------------------------------------

// UTF-8 encoding of any value up to 0x1FFFFF, surrogates included (to build invalid input).
std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}

// The rule as written in the SQS docs.
bool allowed_code_point(uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

// A slow, obviously-correct reference: strict decoding, then the code-point rule.
bool reference_valid_text(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      len = 1, cp = c, min = 0;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0Fu, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || !allowed_code_point(cp)) return false;
    i += len;
  }
  return true;
}

MessageAttribute attr(std::string name, std::string type, std::string value) {
  return MessageAttribute{std::move(name), std::move(type), std::move(value)};
}

Result<void> one_attribute(std::string name, std::string type, std::string value) {
  const std::vector<MessageAttribute> v{attr(std::move(name), std::move(type), std::move(value))};
  return queue::validate_message_attributes(v);
}

Result<void> number(std::string value) { return one_attribute("n", "Number", std::move(value)); }

// Success, or an error with the given code (and message). Streamable, for context.
template <typename R>
::testing::AssertionResult IsOk(const R& r) {
  if (r.has_value()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "unexpected error " << to_string(r.error().code) << ": " << r.error().message;
}

template <typename R>
::testing::AssertionResult FailsWith(const R& r, ErrorCode code,
                                     std::optional<std::string_view> message = std::nullopt) {
  if (r.has_value()) return ::testing::AssertionFailure() << "succeeded, expected an error";
  if (r.error().code != code) {
    return ::testing::AssertionFailure() << "code " << to_string(r.error().code) << ", expected "
                                         << to_string(code) << " (" << r.error().message << ")";
  }
  if (message && r.error().message != *message) {
    return ::testing::AssertionFailure()
           << "message \"" << r.error().message << "\", expected \"" << *message << "\"";
  }
  return ::testing::AssertionSuccess();
}

#define EXPECT_OK(result) EXPECT_TRUE(IsOk(result))
#define EXPECT_ERROR(result, code) EXPECT_TRUE(FailsWith((result), (code)))
#define EXPECT_ERROR_MESSAGE(result, code, message) \
  EXPECT_TRUE(FailsWith((result), (code), (message)))

// ---- MD5 (§5.3): every AWS-recorded vector -------------------------------------------------

TEST(Md5Test, BodyDigestIsLowerCaseHexOfTheBytes) {
  EXPECT_EQ(md5("msg").to_hex(), "6e2baaf3b97dbeef01c0043275f9a0e7");
  EXPECT_EQ(md5("").to_hex(), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5("hello").to_hex(), "5d41402abc4b2a76b9719d911017c592");
}

TEST(Md5Test, SingleStringAttributeMatchesAws) {
  const std::vector<MessageAttribute> a{attr("Foo", "String", "Bar")};
  EXPECT_EQ(md5_of_message_attributes(a).to_hex(), "ae7155c6026991b6d54b11589678bf9c");
}

TEST(Md5Test, AttributesAreDigestedInNameOrderWhateverTheInputOrder) {
  const std::vector<MessageAttribute> as_sent{attr("Help.Me", "String", "Me"),
                                              attr("Hello", "String", "There"),
                                              attr("General", "String", "Kenobi")};
  EXPECT_EQ(md5_of_message_attributes(as_sent).to_hex(), "4c360f3fdafd970e05fae2f149d997f5");
  const std::vector<MessageAttribute> reversed{as_sent[2], as_sent[1], as_sent[0]};
  EXPECT_EQ(md5_of_message_attributes(reversed).to_hex(), "4c360f3fdafd970e05fae2f149d997f5");
  const std::vector<MessageAttribute> sorted{as_sent[2], as_sent[1], as_sent[0]};
  EXPECT_EQ(md5_of_sorted_message_attributes(sorted).to_hex(), "4c360f3fdafd970e05fae2f149d997f5");
}

TEST(Md5Test, FilteredSubsetsMatchAwsReceiveDigests) {
  const std::vector<MessageAttribute> hello_general{attr("Hello", "String", "There"),
                                                    attr("General", "String", "Kenobi")};
  EXPECT_EQ(md5_of_message_attributes(hello_general).to_hex(), "fca026605781cb4126a1e9044df24232");
  const std::vector<MessageAttribute> hello{attr("Hello", "String", "There")};
  EXPECT_EQ(md5_of_message_attributes(hello).to_hex(), "a311262e065454b75da111d535b8dacd");
}

TEST(Md5Test, NumberAttributeUsesTheStringTransportByte) {
  const std::vector<MessageAttribute> a{attr("timestamp", "Number", "1493147359900")};
  EXPECT_EQ(md5_of_message_attributes(a).to_hex(), "235c5c510d26fb653d073faed50ae77c");
}

TEST(Md5Test, BinaryAttributeUsesTransportByteTwoOverRawBytes) {
  const std::string value =
      "traceparent\x1e"
      "00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01";
  const std::vector<MessageAttribute> a{attr("attr1", "Binary", value)};
  EXPECT_EQ(md5_of_message_attributes(a).to_hex(), "8cbe4db156db8a94db8b801b7addb984");
  // The transport byte really is part of the digest: the same bytes as a String differ.
  const std::vector<MessageAttribute> as_string{attr("attr1", "String", value)};
  EXPECT_NE(md5_of_message_attributes(as_string), md5_of_message_attributes(a));
}

TEST(Md5Test, TraceHeaderDigestMatchesAws) {
  EXPECT_EQ(md5_of_trace_header(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
                .to_hex(),
            "5ae4d5d7636402d80f4eb6d213245a88");
}

TEST(Md5Test, FullDataTypeIncludingCustomLabelIsDigested) {
  const std::vector<MessageAttribute> plain{attr("n", "Number", "1")};
  const std::vector<MessageAttribute> labelled{attr("n", "Number.int", "1")};
  EXPECT_NE(md5_of_message_attributes(plain), md5_of_message_attributes(labelled));
}

TEST(Md5Test, ManyUnsortedAttributesDigestLikeTheirSortedForm) {
  // More than fit the stack buffer, in reverse order: the heap path must agree too.
  std::vector<MessageAttribute> reversed;
  for (int i = 30; i >= 0; --i) {
    reversed.push_back(attr("a" + std::to_string(100 + i), "String", std::to_string(i)));
  }
  const std::vector<MessageAttribute> sorted(reversed.rbegin(), reversed.rend());
  EXPECT_EQ(md5_of_message_attributes(reversed), md5_of_sorted_message_attributes(sorted));
  const std::vector<MessageAttribute> few_reversed(reversed.end() - 5, reversed.end());
  const std::vector<MessageAttribute> few_sorted(sorted.begin(), sorted.begin() + 5);
  EXPECT_EQ(md5_of_message_attributes(few_reversed), md5_of_sorted_message_attributes(few_sorted));
}

TEST(Md5Test, NamesSortByCodePointNotByLocale) {
  // 'B' (0x42) < 'a' (0x61) < U+00E9: byte order of UTF-8 is code-point order.
  const std::vector<MessageAttribute> sorted{attr("B", "String", "1"), attr("a", "String", "2"),
                                             attr("\xC3\xA9", "String", "3")};
  const std::vector<MessageAttribute> shuffled{sorted[2], sorted[0], sorted[1]};
  EXPECT_EQ(md5_of_message_attributes(shuffled), md5_of_sorted_message_attributes(sorted));
}

// ---- identifiers --------------------------------------------------------------------------

TEST(MessageIdTest, ToStringIsTheCanonicalLowerCaseUuid) {
  MessageId id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(i * 17);
  const std::string s = id.to_string();
  EXPECT_EQ(s, "00112233-4455-6677-8899-aabbccddeeff");
  // A MessageId is also a valid batch entry id (sqs-consumer relies on it).
  EXPECT_OK(queue::validate_batch_entry_id(s));
}

TEST(Md5DigestTest, ToHexGivesThirtyTwoLowerCaseDigits) {
  Md5Digest d;
  for (size_t i = 0; i < d.bytes.size(); ++i) d.bytes[i] = static_cast<uint8_t>(0xF0 - i * 16 + i);
  EXPECT_EQ(d.to_hex(), "f0e1d2c3b4a5968778695a4b3c2d1e0f");
  EXPECT_EQ(Md5Digest{}.to_hex(), std::string(32, '0'));
}

// ---- message text (§1.3 SendMessage) -------------------------------------------------------

TEST(MessageTextTest, AcceptsTabLineFeedAndCarriageReturnButNoOtherC0Control) {
  EXPECT_TRUE(is_valid_message_text(utf8(0x09)));
  EXPECT_TRUE(is_valid_message_text(utf8(0x0A)));
  EXPECT_TRUE(is_valid_message_text(utf8(0x0D)));
  EXPECT_FALSE(is_valid_message_text(std::string(1, '\0')));
  EXPECT_FALSE(is_valid_message_text(utf8(0x08)));
  EXPECT_FALSE(is_valid_message_text(utf8(0x0B)));
  EXPECT_FALSE(is_valid_message_text(utf8(0x0C)));
  EXPECT_FALSE(is_valid_message_text(utf8(0x13)));
  EXPECT_FALSE(is_valid_message_text(utf8(0x1F)));
  EXPECT_TRUE(is_valid_message_text(utf8(0x20)));
  EXPECT_TRUE(is_valid_message_text(utf8(0x7F)));
  EXPECT_TRUE(is_valid_message_text(utf8(0x80)));
}

TEST(MessageTextTest, AcceptsTheBmpUpToD7ffAndFromE000ToFffd) {
  EXPECT_TRUE(is_valid_message_text(utf8(0xD7FF)));
  EXPECT_TRUE(is_valid_message_text(utf8(0xE000)));
  EXPECT_TRUE(is_valid_message_text(utf8(0xFFFD)));
  EXPECT_FALSE(is_valid_message_text(utf8(0xFFFE)));
  EXPECT_FALSE(is_valid_message_text(utf8(0xFFFF)));
}

TEST(MessageTextTest, AcceptsSupplementaryPlanesUpTo10ffff) {
  EXPECT_TRUE(is_valid_message_text(utf8(0x10000)));
  EXPECT_TRUE(is_valid_message_text(utf8(0x1F600)));
  EXPECT_TRUE(is_valid_message_text(utf8(0x10FFFF)));
  EXPECT_FALSE(is_valid_message_text(utf8(0x110000)));                   // F4 90 80 80
  EXPECT_FALSE(is_valid_message_text(bytes({0xF5, 0x80, 0x80, 0x80})));  // lead byte > F4
}

TEST(MessageTextTest, RejectsEncodedSurrogates) {
  EXPECT_FALSE(is_valid_message_text(utf8(0xD800)));
  EXPECT_FALSE(is_valid_message_text(utf8(0xDBFF)));
  EXPECT_FALSE(is_valid_message_text(utf8(0xDC00)));
  EXPECT_FALSE(is_valid_message_text(utf8(0xDFFF)));
  // CESU-8 for U+1F600 (a surrogate pair, each half encoded).
  EXPECT_FALSE(is_valid_message_text(utf8(0xD83D) + utf8(0xDE00)));
}

TEST(MessageTextTest, RejectsOverlongEncodings) {
  EXPECT_FALSE(is_valid_message_text(bytes({0xC0, 0x80})));              // U+0000
  EXPECT_FALSE(is_valid_message_text(bytes({0xC1, 0xBF})));              // U+007F
  EXPECT_FALSE(is_valid_message_text(bytes({0xC0, 0xA0})));              // ' ' overlong
  EXPECT_FALSE(is_valid_message_text(bytes({0xE0, 0x80, 0x80})));        // U+0000
  EXPECT_FALSE(is_valid_message_text(bytes({0xE0, 0x9F, 0xBF})));        // U+07FF
  EXPECT_FALSE(is_valid_message_text(bytes({0xF0, 0x80, 0x80, 0x80})));  // U+0000
  EXPECT_FALSE(is_valid_message_text(bytes({0xF0, 0x8F, 0xBF, 0xBF})));  // U+FFFF
  EXPECT_TRUE(is_valid_message_text(bytes({0xE0, 0xA0, 0x80})));         // U+0800, shortest
  EXPECT_TRUE(is_valid_message_text(bytes({0xF0, 0x90, 0x80, 0x80})));   // U+10000, shortest
}

TEST(MessageTextTest, RejectsMalformedUtf8) {
  EXPECT_FALSE(is_valid_message_text(bytes({0x80})));              // lone continuation
  EXPECT_FALSE(is_valid_message_text(bytes({0xBF, 0x41})));        // continuation first
  EXPECT_FALSE(is_valid_message_text(bytes({0xC3})));              // truncated 2-byte
  EXPECT_FALSE(is_valid_message_text(bytes({0xE2, 0x82})));        // truncated 3-byte
  EXPECT_FALSE(is_valid_message_text(bytes({0xF0, 0x9F, 0x98})));  // truncated 4-byte
  EXPECT_FALSE(is_valid_message_text(bytes({0xC3, 0x41})));        // bad continuation
  EXPECT_FALSE(is_valid_message_text(bytes({0xFE})));
  EXPECT_FALSE(is_valid_message_text(bytes({0xFF})));
  EXPECT_TRUE(is_valid_message_text(bytes({0xC3, 0xA9})));  // é
}

TEST(MessageTextTest, EveryCodePointFollowsTheDocumentedRule) {
  for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    const bool expected = allowed_code_point(cp) && !(cp >= 0xD800 && cp <= 0xDFFF);
    const std::string alone = utf8(cp);
    ASSERT_EQ(is_valid_message_text(alone), expected) << "U+" << std::hex << cp;
    if (cp % 97 == 0) {  // also mid-text, after the 8-byte fast path has run
      ASSERT_EQ(is_valid_message_text("0123456789abcdefgh" + alone + "xyz"), expected)
          << "U+" << std::hex << cp;
    }
  }
}

TEST(MessageTextTest, FastPathFindsABadByteAtEveryOffset) {
  const std::string good(64, 'a');
  EXPECT_TRUE(is_valid_message_text(good));
  for (size_t pos = 0; pos < good.size(); ++pos) {
    for (char bad : {'\0', '\x01', '\x08', '\x1F', '\x80', '\xFF'}) {
      std::string s = good;
      s[pos] = bad;
      ASSERT_FALSE(is_valid_message_text(s)) << "offset " << pos << " byte " << int(bad);
    }
    std::string tab = good;
    tab[pos] = '\t';
    ASSERT_TRUE(is_valid_message_text(tab)) << "offset " << pos;
    std::string multi = good;
    multi.replace(pos, 1, utf8(0x1F600));
    ASSERT_TRUE(is_valid_message_text(multi)) << "offset " << pos;
  }
}

// After a block that is not all printable ASCII, 64 bytes go one at a time and then the
// 16- and 8-byte blocks resume: a bad byte is found in each stretch, at every offset.
TEST(MessageTextTest, BadByteFoundAtEveryOffsetAfterUtf8AndDel) {
  for (const std::string& head : {utf8(0xE9), utf8(0x4E2D), std::string("\x7f")}) {
    const std::string good = head + std::string(200, 'b') + utf8(0x1F600) + std::string(40, 'c');
    ASSERT_TRUE(is_valid_message_text(good));
    for (size_t pos = head.size(); pos < good.size(); ++pos) {
      if (static_cast<unsigned char>(good[pos]) >= 0x80) continue;  // inside the emoji
      for (char bad : {'\0', '\x1F', '\xFF'}) {
        std::string s = good;
        s[pos] = bad;
        ASSERT_FALSE(is_valid_message_text(s)) << "offset " << pos << " byte " << int(bad);
      }
    }
  }
}

TEST(MessageTextTest, AgreesWithAStrictReferenceDecoderOnRandomInput) {
  std::mt19937 rng(12345);
  // Biased towards interesting bytes so multi-byte sequences are common.
  const std::vector<int> alphabet{0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x41, 0x7F, 0x80,
                                  0x8F, 0x90, 0x9F, 0xA0, 0xBE, 0xBF, 0xC0, 0xC2, 0xDF,
                                  0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<size_t> length(0, 24);
  std::uniform_int_distribution<int> ascii_run(0, 3);
  for (int round = 0; round < 200000; ++round) {
    std::string s;
    const size_t n = length(rng);
    for (size_t i = 0; i < n; ++i) {
      if (ascii_run(rng) == 0) s += "abcdefghij";
      s += static_cast<char>(alphabet[pick(rng)]);
    }
    ASSERT_EQ(is_valid_message_text(s), reference_valid_text(s)) << "round " << round;
  }
}

TEST(BodyTest, EmptyBodyIsAMissingParameter) {
  EXPECT_ERROR_MESSAGE(queue::validate_body(""), ErrorCode::kMissingParameter,
                       "The request must contain the parameter MessageBody.");
}

TEST(BodyTest, DisallowedCharactersAreInvalidMessageContents) {
  EXPECT_ERROR_MESSAGE(queue::validate_body("a" + utf8(0xFFFF)), ErrorCode::kInvalidMessageContents,
                       "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | "
                       "#x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF");
  EXPECT_OK(queue::validate_body("msg"));
  EXPECT_OK(queue::validate_body("line one\r\nline two\t\xC3\xA9"));
}

// ---- size rule (§1.3 SendMessage) ----------------------------------------------------------

TEST(MessageSizeTest, CountsBodyAndEveryAttributeNameTypeAndValue) {
  const std::vector<MessageAttribute> a{attr("Foo", "String", "Bar"),
                                        attr("n", "Number.int", "42")};
  EXPECT_EQ(queue::message_size("hello", a), 5u + (3 + 6 + 3) + (1 + 10 + 2));
  EXPECT_EQ(queue::message_size("\xC3\xA9", {}), 2u);  // UTF-8 bytes, not characters
}

TEST(MessageSizeTest, ExactlyTheMaximumIsAcceptedAndOneMoreIsRejected) {
  EXPECT_OK(queue::validate_message_size(1024, 1024));
  EXPECT_OK(queue::validate_message_size(1, 1024));
  EXPECT_ERROR_MESSAGE(
      queue::validate_message_size(1025, 1024), ErrorCode::kInvalidParameterValue,
      "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.");
  EXPECT_OK(queue::validate_message_size(1048576, 1048576));
  EXPECT_ERROR(queue::validate_message_size(1048577, 1048576), ErrorCode::kInvalidParameterValue);
}

// ---- message attributes (§2.3) -------------------------------------------------------------

TEST(AttributeCountTest, TenAttributesAreAllowedAndElevenAreNot) {
  std::vector<MessageAttribute> a;
  for (int i = 0; i < 10; ++i) a.push_back(attr("a" + std::to_string(i), "String", "v"));
  EXPECT_OK(queue::validate_message_attributes(a));
  a.push_back(attr("a10", "String", "v"));
  EXPECT_ERROR_MESSAGE(queue::validate_message_attributes(a), ErrorCode::kInvalidParameterValue,
                       "Number of message attributes [11] exceeds the allowed maximum [10].");
  EXPECT_OK(queue::validate_message_attributes({}));
}

TEST(AttributeNameTest, NameMustNotBeEmpty) {
  EXPECT_ERROR(one_attribute("", "String", "v"), ErrorCode::kInvalidParameterValue);
}

TEST(AttributeNameTest, NameIsAtMost256Characters) {
  EXPECT_OK(one_attribute(std::string(256, 'x'), "String", "v"));
  EXPECT_ERROR(one_attribute(std::string(257, 'x'), "String", "v"),
               ErrorCode::kInvalidParameterValue);
}

TEST(AttributeNameTest, NameUsesOnlyAlphanumericsUnderscoreHyphenAndPeriod) {
  EXPECT_OK(one_attribute("Az09_-.x", "String", "v"));
  for (const char* bad : {"a b", "a*", "a/b", "a:b", "caf\xC3\xA9", "a\tb"}) {
    const auto r = one_attribute(bad, "String", "v");
    EXPECT_ERROR(r, ErrorCode::kInvalidParameterValue);
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
}

TEST(AttributeNameTest, ReservedPrefixesAreRejectedInAnyCase) {
  for (const char* bad : {"AWS.x", "aws.x", "Aws.x", "Amazon.x", "amazon.x", "AMAZON.x"}) {
    EXPECT_ERROR(one_attribute(bad, "String", "v"), ErrorCode::kInvalidParameterValue) << bad;
  }
  // Only the prefix with its period is reserved.
  EXPECT_OK(one_attribute("AWSome", "String", "v"));
  EXPECT_OK(one_attribute("Amazonian", "String", "v"));
  EXPECT_OK(one_attribute("my.AWS.x", "String", "v"));
}

TEST(AttributeNameTest, PeriodsMayNotLeadTrailOrRepeat) {
  EXPECT_ERROR(one_attribute(".a", "String", "v"), ErrorCode::kInvalidParameterValue);
  EXPECT_ERROR(one_attribute("a.", "String", "v"), ErrorCode::kInvalidParameterValue);
  EXPECT_ERROR(one_attribute("a..b", "String", "v"), ErrorCode::kInvalidParameterValue);
  EXPECT_OK(one_attribute("a.b.c", "String", "v"));
}

TEST(AttributeNameTest, NamesAreUniqueAndCaseSensitive) {
  const std::vector<MessageAttribute> dup{attr("Foo", "String", "1"), attr("Bar", "String", "2"),
                                          attr("Foo", "Number", "3")};
  const auto r = queue::validate_message_attributes(dup);
  EXPECT_ERROR(r, ErrorCode::kInvalidParameterValue);
  EXPECT_NE(r.error().message.find("'Foo'"), std::string::npos);
  const std::vector<MessageAttribute> cased{attr("Foo", "String", "1"), attr("foo", "String", "2")};
  EXPECT_OK(queue::validate_message_attributes(cased));
}

TEST(AttributeDataTypeTest, BaseTypesAndCustomLabelsAreAccepted) {
  EXPECT_OK(one_attribute("a", "String", "v"));
  EXPECT_OK(one_attribute("a", "Number", "1"));
  EXPECT_OK(one_attribute("a", "Binary", "\x01\x02"));
  EXPECT_OK(one_attribute("a", "Number.int", "1"));
  EXPECT_OK(one_attribute("a", "Binary.png", "\x89PNG"));
  EXPECT_OK(one_attribute("a", "String.json", "{}"));
  EXPECT_OK(one_attribute("a", "Number.java.lang.Long", "1"));
  EXPECT_OK(one_attribute("a", "String." + std::string(249, 'x'), "v"));  // 256 in total
}

TEST(AttributeDataTypeTest, OtherTypesAreRejectedNamingTheAttribute) {
  const std::string message =
      "The type of message (user) attribute 'a' is invalid. You must use only the following "
      "supported type prefixes: Binary, Number, String.";
  for (const std::string& bad : std::vector<std::string>{
           "", "string", "STRING", "Integer", "StringX", "Number.", ".int", "Str.ing",
           "String." + std::string(250, 'x'), "Binary.p\x01ng", "Number.\xFF"}) {
    EXPECT_ERROR_MESSAGE(one_attribute("a", bad, "1"), ErrorCode::kInvalidParameterValue, message);
  }
}

TEST(AttributeValueTest, ValuesMustNotBeEmpty) {
  EXPECT_ERROR_MESSAGE(one_attribute("X", "String", ""), ErrorCode::kInvalidParameterValue,
                       "Message (user) attribute 'X' must contain a non-empty value of type "
                       "'String'.");
  EXPECT_ERROR_MESSAGE(one_attribute("X", "Binary.png", ""), ErrorCode::kInvalidParameterValue,
                       "Message (user) attribute 'X' must contain a non-empty value of type "
                       "'Binary.png'.");
}

TEST(AttributeValueTest, StringValuesUseTheBodyCharacterSetButBinaryValuesAreRawBytes) {
  EXPECT_ERROR(one_attribute("s", "String", "a" + utf8(0x08)), ErrorCode::kInvalidParameterValue);
  EXPECT_ERROR(one_attribute("s", "String.x", utf8(0x0B)), ErrorCode::kInvalidParameterValue);
  EXPECT_OK(one_attribute("s", "String", "tab\there " + utf8(0x10FFFF)));
  EXPECT_OK(one_attribute("b", "Binary", std::string("\x00\xFF\xFE\x08", 4)));
}

TEST(AttributeValueTest, NumbersAreDecimalsWithOptionalSignFractionAndExponent) {
  for (const char* ok : {"0", "-1", "+1", "1.5", "-0.25", ".5", "5.", "1e5", "1E-5", "2.5e+3",
                         "1493147359900", "000123", "0.000"}) {
    EXPECT_OK(number(ok));
  }
  for (const char* bad : {"abc", "1.5.2", "1e", "1e+", "--1", "+-1", " 1", "1 ", "0x10", "NaN",
                          "Infinity", ".", "-", "1,5", "e5", "1e5.5", "١"}) {
    const auto r = number(bad);
    EXPECT_ERROR(r, ErrorCode::kInvalidParameterValue);
    EXPECT_EQ(r.error().message,
              "Can't cast the value of message (user) attribute 'n' to a number.")
        << bad;
  }
}

TEST(AttributeValueTest, NumbersHaveAtMost38SignificantDigits) {
  EXPECT_OK(number(std::string(38, '9')));
  EXPECT_OK(number("0.000" + std::string(38, '7')));  // leading zeros are not significant
  EXPECT_OK(number("1" + std::string(60, '0')));      // neither are trailing zeros
  EXPECT_ERROR(number(std::string(39, '9')), ErrorCode::kInvalidParameterValue);
  EXPECT_ERROR(number("1." + std::string(37, '0') + "1"), ErrorCode::kInvalidParameterValue);
}

TEST(AttributeValueTest, NumbersLieBetween10ToTheMinus128And10To126) {
  EXPECT_OK(number("1e126"));
  EXPECT_OK(number("-9.99e126"));
  EXPECT_OK(number("1e-128"));
  EXPECT_OK(number("0e999999999"));  // zero is in range whatever its exponent
  EXPECT_ERROR(number("1e127"), ErrorCode::kInvalidParameterValue);
  EXPECT_ERROR(number("10e126"), ErrorCode::kInvalidParameterValue);
  EXPECT_ERROR(number("9e-129"), ErrorCode::kInvalidParameterValue);
  EXPECT_ERROR(number("0.1e-128"), ErrorCode::kInvalidParameterValue);
  EXPECT_ERROR(number("1e99999999999999999999"), ErrorCode::kInvalidParameterValue);
}

// ---- identifiers and parameters ------------------------------------------------------------

TEST(MessageGroupIdTest, OneTo128AlphanumericOrPunctuationCharacters) {
  EXPECT_OK(queue::validate_message_group_id("a"));
  EXPECT_OK(queue::validate_message_group_id("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"));
  EXPECT_OK(queue::validate_message_group_id(std::string(128, 'g')));
  for (const std::string& bad : {std::string(), std::string(129, 'g'), std::string("a b"),
                                 std::string("tab\t"), std::string("caf\xC3\xA9")}) {
    EXPECT_ERROR(queue::validate_message_group_id(bad), ErrorCode::kInvalidParameterValue);
  }
  EXPECT_ERROR_MESSAGE(queue::validate_message_group_id("a b"), ErrorCode::kInvalidParameterValue,
                       "Value a b for parameter MessageGroupId is invalid. Reason: MessageGroupId "
                       "can only include alphanumeric and punctuation characters. 1 to 128 in "
                       "length.");
}

TEST(DelayTest, ZeroTo900Seconds) {
  EXPECT_OK(queue::validate_delay(0));
  EXPECT_OK(queue::validate_delay(900));
  EXPECT_ERROR_MESSAGE(queue::validate_delay(901), ErrorCode::kInvalidParameterValue,
                       "Value 901 for parameter DelaySeconds is invalid. Reason: must be between "
                       "0 and 900, if provided.");
  EXPECT_ERROR(queue::validate_delay(-1), ErrorCode::kInvalidParameterValue);
}

TEST(BatchEntryIdTest, OneTo80AlphanumericsHyphensOrUnderscores) {
  EXPECT_OK(queue::validate_batch_entry_id("a"));
  EXPECT_OK(queue::validate_batch_entry_id("Msg_1-x"));
  EXPECT_OK(queue::validate_batch_entry_id(std::string(80, 'i')));
  for (const std::string& bad : {std::string(), std::string(81, 'i'), std::string("a.b"),
                                 std::string("a b"), std::string("id!")}) {
    EXPECT_ERROR_MESSAGE(queue::validate_batch_entry_id(bad), ErrorCode::kInvalidBatchEntryId,
                         "A batch entry id can only contain alphanumeric characters, hyphens and "
                         "underscores. It can be at most 80 letters long.");
  }
}

TEST(ReceiveOptionsTest, DefaultsAndBoundariesAreValid) {
  EXPECT_OK(queue::validate_receive_options(ReceiveOptions{}));
  ReceiveOptions o;
  o.max_number_of_messages = 10;
  o.wait_time_s = 20;
  o.visibility_timeout_s = 43200;
  EXPECT_OK(queue::validate_receive_options(o));
  o.max_number_of_messages = 1;
  o.wait_time_s = 0;
  o.visibility_timeout_s = 0;
  EXPECT_OK(queue::validate_receive_options(o));
}

TEST(ReceiveOptionsTest, MaxNumberOfMessagesIsOneToTen) {
  ReceiveOptions o;
  o.max_number_of_messages = 11;
  EXPECT_ERROR_MESSAGE(queue::validate_receive_options(o), ErrorCode::kInvalidParameterValue,
                       "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be "
                       "between 1 and 10, if provided.");
  o.max_number_of_messages = 0;
  EXPECT_ERROR(queue::validate_receive_options(o), ErrorCode::kInvalidParameterValue);
}

TEST(ReceiveOptionsTest, WaitTimeSecondsIsZeroToTwenty) {
  ReceiveOptions o;
  o.wait_time_s = 21;
  EXPECT_ERROR_MESSAGE(queue::validate_receive_options(o), ErrorCode::kInvalidParameterValue,
                       "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 "
                       "and <= 20, if provided.");
  o.wait_time_s = -1;
  EXPECT_ERROR(queue::validate_receive_options(o), ErrorCode::kInvalidParameterValue);
}

TEST(ReceiveOptionsTest, VisibilityTimeoutIsZeroTo43200) {
  ReceiveOptions o;
  o.visibility_timeout_s = 43201;
  const auto r = queue::validate_receive_options(o);
  EXPECT_ERROR(r, ErrorCode::kInvalidParameterValue);
  EXPECT_NE(r.error().message.find("VisibilityTimeout"), std::string::npos);
  o.visibility_timeout_s = -1;
  EXPECT_ERROR(queue::validate_receive_options(o), ErrorCode::kInvalidParameterValue);
}

// ---- receive filters (§3.2, §3.3) ----------------------------------------------------------

bool selected(std::vector<std::string> filters, std::string_view name) {
  return queue::message_attribute_selected(filters, name);
}

TEST(MessageAttributeFilterTest, NoFiltersSelectNothing) { EXPECT_FALSE(selected({}, "Hello")); }

TEST(MessageAttributeFilterTest, AllDotStarAndStarSelectEverything) {
  for (const char* all : {"All", ".*", "*"}) {
    EXPECT_TRUE(selected({all}, "Hello")) << all;
    EXPECT_TRUE(selected({all}, "Help.Me")) << all;
  }
  EXPECT_FALSE(selected({"all"}, "Hello"));  // case-sensitive
}

TEST(MessageAttributeFilterTest, ExactNamesSelectOnlyThemselves) {
  EXPECT_TRUE(selected({"Hello", "General"}, "General"));
  EXPECT_FALSE(selected({"Hello", "General"}, "Help.Me"));
  EXPECT_FALSE(selected({"hello"}, "Hello"));
  EXPECT_FALSE(selected({"Missing"}, "Hello"));
}

TEST(MessageAttributeFilterTest, PrefixFilterIsAPlainStartsWith) {
  // The LS-validated example: Hel.* selects Hello and Help.Me, not General.
  EXPECT_TRUE(selected({"Hel.*"}, "Hello"));
  EXPECT_TRUE(selected({"Hel.*"}, "Help.Me"));
  EXPECT_FALSE(selected({"Hel.*"}, "General"));
  EXPECT_TRUE(selected({"Help.*"}, "Help.Me"));
  EXPECT_TRUE(selected({"Help.Me.*"}, "Help.Me"));
}

TEST(MessageAttributeFilterTest, InvalidFilterNamesAreIgnored) {
  EXPECT_FALSE(selected({"AWS.*"}, "AWSome"));
  EXPECT_FALSE(selected({"amazon.*"}, "amazonian"));
  EXPECT_FALSE(selected({"AWS."}, "AWS"));
  EXPECT_FALSE(selected({"..foo"}, "foo"));
  EXPECT_FALSE(selected({"Hel..*"}, "Hel.x"));
  // An invalid filter next to a valid one does not stop the valid one.
  EXPECT_TRUE(selected({"AWS.*", "..foo", "Hello"}, "Hello"));
}

TEST(SystemAttributeMaskTest, AllSetsEveryBitAndNamesSetTheirOwn) {
  using M = queue::SystemAttributeMask;
  const std::vector<std::string> all{"All"};
  EXPECT_EQ(queue::system_attribute_mask(all), M::kAll);
  const std::vector<std::string> each{"SenderId",
                                      "SentTimestamp",
                                      "ApproximateReceiveCount",
                                      "ApproximateFirstReceiveTimestamp",
                                      "SequenceNumber",
                                      "MessageDeduplicationId",
                                      "MessageGroupId",
                                      "AWSTraceHeader",
                                      "DeadLetterQueueSourceArn"};
  EXPECT_EQ(queue::system_attribute_mask(each), M::kAll);
  const std::vector<std::string> two{"SentTimestamp", "ApproximateReceiveCount"};
  EXPECT_EQ(queue::system_attribute_mask(two), M::kSentTimestamp | M::kApproximateReceiveCount);
}

TEST(SystemAttributeMaskTest, UnknownNamesAreIgnored) {
  const std::vector<std::string> names{"SqsManagedSseEnabled", "Bogus", "all", "SenderId"};
  EXPECT_EQ(queue::system_attribute_mask(names), queue::SystemAttributeMask::kSenderId);
  EXPECT_EQ(queue::system_attribute_mask({}), 0u);
}

// ---- queue attributes (§2.1) ---------------------------------------------------------------

TEST(QueueAttributesTest, DefaultsAreSqsDefaultsAndValid) {
  const QueueAttributes a;
  EXPECT_OK(validate(a));
  EXPECT_EQ(*get_attribute(a, "VisibilityTimeout"), "30");
  EXPECT_EQ(*get_attribute(a, "MessageRetentionPeriod"), "345600");
  EXPECT_EQ(*get_attribute(a, "MaximumMessageSize"), "1048576");
  EXPECT_EQ(*get_attribute(a, "DelaySeconds"), "0");
  EXPECT_EQ(*get_attribute(a, "ReceiveMessageWaitTimeSeconds"), "0");
  EXPECT_EQ(*get_attribute(a, "LqsCapacityMessages"), "65536");
  EXPECT_EQ(*get_attribute(a, "LqsCapacityBytes"), "67108864");
}

TEST(QueueAttributesTest, SetAcceptsEveryRangeEndAndGetReadsItBack) {
  struct Case {
    const char* name;
    const char* lo;
    const char* hi;
  };
  for (const Case& c :
       {Case{"VisibilityTimeout", "0", "43200"}, Case{"MessageRetentionPeriod", "60", "1209600"},
        Case{"MaximumMessageSize", "1024", "1048576"}, Case{"DelaySeconds", "0", "900"},
        Case{"ReceiveMessageWaitTimeSeconds", "0", "20"},
        Case{"LqsCapacityMessages", "16", "4194304"},
        Case{"LqsCapacityBytes", "2097152", "68719476736"}}) {
    QueueAttributes a;
    for (const char* v : {c.lo, c.hi}) {
      EXPECT_OK(set_attribute(a, c.name, v));
      EXPECT_EQ(*get_attribute(a, c.name), v) << c.name;
      EXPECT_OK(validate(a));
    }
  }
  QueueAttributes a;
  ASSERT_TRUE(set_attribute(a, "VisibilityTimeout", "60").has_value());
  EXPECT_EQ(a.visibility_timeout_s, 60);
  ASSERT_TRUE(set_attribute(a, "LqsCapacityBytes", "68719476736").has_value());
  EXPECT_EQ(a.capacity_bytes, uint64_t{64} << 30);
}

TEST(QueueAttributesTest, OutOfRangeValuesNameTheAttributeAndItsRange) {
  QueueAttributes a;
  EXPECT_ERROR_MESSAGE(set_attribute(a, "VisibilityTimeout", "43201"),
                       ErrorCode::kInvalidAttributeValue,
                       "Invalid value for the parameter VisibilityTimeout. Reason: must be an "
                       "integer between 0 and 43200.");
  EXPECT_ERROR_MESSAGE(set_attribute(a, "MaximumMessageSize", "1023"),
                       ErrorCode::kInvalidAttributeValue,
                       "Invalid value for the parameter MaximumMessageSize. Reason: must be an "
                       "integer between 1024 and 1048576.");
  EXPECT_ERROR_MESSAGE(set_attribute(a, "LqsCapacityBytes", "68719476737"),
                       ErrorCode::kInvalidAttributeValue,
                       "Invalid value for the parameter LqsCapacityBytes. Reason: must be an "
                       "integer between 2097152 and 68719476736.");
  EXPECT_ERROR(set_attribute(a, "DelaySeconds", "-1"), ErrorCode::kInvalidAttributeValue);
  EXPECT_EQ(a.visibility_timeout_s, 30);  // a failed set changes nothing
  EXPECT_EQ(a.delay_s, 0);
}

TEST(QueueAttributesTest, ValuesMustBePlainDecimalIntegers) {
  QueueAttributes a;
  for (const char* bad :
       {"1.5", "", "abc", "+1", " 1", "1 ", "1e3", "0x10", "99999999999999999999"}) {
    const auto r = set_attribute(a, "DelaySeconds", bad);
    EXPECT_ERROR(r, ErrorCode::kInvalidAttributeValue);
    EXPECT_NE(r.error().message.find("DelaySeconds"), std::string::npos) << bad;
  }
  EXPECT_EQ(a.delay_s, 0);
}

TEST(QueueAttributesTest, UnknownNamesAreInvalidAttributeNames) {
  QueueAttributes a;
  EXPECT_ERROR_MESSAGE(set_attribute(a, "Foobar", "1"), ErrorCode::kInvalidAttributeName,
                       "Unknown Attribute Foobar.");
  // The FIFO attributes are known here (the registry refuses them on standard queues).
  EXPECT_TRUE(set_attribute(a, "FifoQueue", "true"));
  EXPECT_TRUE(a.fifo_queue);
  EXPECT_ERROR_MESSAGE(set_attribute(a, "DeduplicationScope", "group"),
                       ErrorCode::kInvalidAttributeValue,
                       "Invalid value for the parameter DeduplicationScope. Reason: must be queue "
                       "or messageGroup.");
  EXPECT_ERROR_MESSAGE(get_attribute(a, "visibilitytimeout"), ErrorCode::kInvalidAttributeName,
                       "Unknown Attribute visibilitytimeout.");
}

TEST(QueueAttributesTest, ValidateNamesTheFirstFieldOutOfRange) {
  QueueAttributes a;
  a.receive_message_wait_time_s = 21;
  EXPECT_ERROR_MESSAGE(validate(a), ErrorCode::kInvalidAttributeValue,
                       "Invalid value for the parameter ReceiveMessageWaitTimeSeconds. Reason: "
                       "must be an integer between 0 and 20.");
  a = QueueAttributes{};
  a.capacity_messages = 15;
  EXPECT_ERROR(validate(a), ErrorCode::kInvalidAttributeValue);
  a = QueueAttributes{};
  a.capacity_bytes = ~uint64_t{0};
  const auto r = validate(a);
  EXPECT_ERROR(r, ErrorCode::kInvalidAttributeValue);
  EXPECT_NE(r.error().message.find("LqsCapacityBytes"), std::string::npos);
}

// ---- queue names (§1.3 CreateQueue) --------------------------------------------------------

TEST(QueueNameTest, StandardNamesAreOneTo80AlphanumericsHyphensOrUnderscores) {
  EXPECT_OK(queue::validate_queue_name("q"));
  EXPECT_OK(queue::validate_queue_name("My-Queue_01"));
  EXPECT_OK(queue::validate_queue_name(std::string(80, 'q')));
  // "orders.fifo" is checked as a FIFO queue's name (valid); that only a FIFO queue may carry
  // it is checked at creation (FifoTest.NamesAttributesAndReopen).
  for (const std::string& bad :
       {std::string(), std::string(81, 'q'), std::string("a b"), std::string("a.b")}) {
    EXPECT_ERROR_MESSAGE(queue::validate_queue_name(bad), ErrorCode::kInvalidParameterValue,
                         "Can only include alphanumeric characters, hyphens, or underscores. 1 to "
                         "80 in length");
  }
}

TEST(QueueNameTest, FifoNamesEndInDotFifoWhichCountsTowardThe80) {
  EXPECT_OK(queue::validate_queue_name("orders.fifo", true));
  EXPECT_OK(queue::validate_queue_name(std::string(75, 'q') + ".fifo", true));
  EXPECT_ERROR(queue::validate_queue_name(std::string(76, 'q') + ".fifo", true),
               ErrorCode::kInvalidParameterValue);
  EXPECT_ERROR(queue::validate_queue_name("orders", true), ErrorCode::kInvalidParameterValue);
  EXPECT_ERROR(queue::validate_queue_name(".fifo", true), ErrorCode::kInvalidParameterValue);
  EXPECT_ERROR(queue::validate_queue_name("a.b.fifo", true), ErrorCode::kInvalidParameterValue);
  EXPECT_ERROR(queue::validate_queue_name("orders.FIFO", true), ErrorCode::kInvalidParameterValue);
}

// ---- the error table (§1.2) ----------------------------------------------------------------

TEST(ErrorTableTest, NamesAreTheEnumeratorsOwn) {
  EXPECT_EQ(to_string(ErrorCode::kOk), "kOk");
  EXPECT_EQ(to_string(ErrorCode::kQueueFull), "kQueueFull");
  EXPECT_EQ(to_string(ErrorCode::kTimedOut), "kTimedOut");
}

TEST(ErrorTableTest, ShapesLegacyCodesAndStatusesFollowSqs) {
  EXPECT_EQ(sqs_shape(ErrorCode::kQueueDoesNotExist), "QueueDoesNotExist");
  EXPECT_EQ(sqs_legacy_code(ErrorCode::kQueueDoesNotExist),
            "AWS.SimpleQueueService.NonExistentQueue");
  EXPECT_EQ(sqs_http_status(ErrorCode::kQueueDoesNotExist), 400);
  EXPECT_EQ(sqs_shape(ErrorCode::kInvalidParameterValue), "InvalidParameterValueException");
  EXPECT_EQ(sqs_legacy_code(ErrorCode::kInvalidParameterValue), "InvalidParameterValue");
  EXPECT_EQ(sqs_shape(ErrorCode::kMissingParameter), "MissingRequiredParameterException");
  EXPECT_EQ(sqs_legacy_code(ErrorCode::kMissingParameter), "MissingParameter");
  EXPECT_EQ(sqs_legacy_code(ErrorCode::kInvalidBatchEntryId),
            "AWS.SimpleQueueService.InvalidBatchEntryId");
  EXPECT_EQ(sqs_http_status(ErrorCode::kReceiptHandleIsInvalid), 404);
  EXPECT_EQ(sqs_http_status(ErrorCode::kOverLimit), 403);
  EXPECT_EQ(sqs_shape(ErrorCode::kQueueFull), "OverLimit");
  EXPECT_EQ(sqs_http_status(ErrorCode::kCorruption), 500);
  EXPECT_EQ(sqs_http_status(ErrorCode::kTimedOut), 503);
}

TEST(ErrorTableTest, AnOutOfRangeCodeReadsAsASystemError) {
  const auto bogus = static_cast<ErrorCode>(0xFFFF);
  EXPECT_EQ(to_string(bogus), "kSystem");
  EXPECT_EQ(sqs_shape(bogus), "InternalFailure");
  EXPECT_EQ(sqs_http_status(bogus), 500);
}

}  // namespace
}  // namespace lqs
