// parse_json_strict: what Meta can send us and what a hostile body can.

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/json.hpp"

namespace {

wa::Result<void> parse(std::string_view text, rapidjson::Document& doc,
                       const wa::JsonLimits& limits = {}) {
    return wa::parse_json_strict(text, doc, limits);
}

std::string nested_arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

void expect_invalid(std::string_view text, std::string_view fragment) {
    rapidjson::Document doc;
    auto r = parse(text, doc);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, "invalid_json");
    EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
}

TEST(Json, ParsesObject) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse(R"({"a":1,"b":[true,null,"x"],"c":{"d":2.5}})", doc).ok());
    ASSERT_TRUE(doc.IsObject());
    EXPECT_EQ(doc["a"].GetInt(), 1);
    EXPECT_EQ(doc["b"].Size(), 3u);
    EXPECT_EQ(std::string(doc["b"][2].GetString()), "x");
    EXPECT_DOUBLE_EQ(doc["c"]["d"].GetDouble(), 2.5);
}

TEST(Json, ParsesScalarRootAndWhitespace) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse(" \n\t42 \r\n", doc).ok());
    EXPECT_EQ(doc.GetInt(), 42);
}

TEST(Json, DecodesEscapedLatin1ToUtf8) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse(R"({"t":"caf\u00e9"})", doc).ok());
    EXPECT_EQ(std::string(doc["t"].GetString()), "caf\xC3\xA9");
}

TEST(Json, DecodesSurrogatePairToUtf8) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse(R"({"t":"\ud83d\udc4d"})", doc).ok());
    EXPECT_EQ(std::string(doc["t"].GetString()), "\xF0\x9F\x91\x8D");  // U+1F44D
}

TEST(Json, RejectsLoneHighSurrogate) {
    expect_invalid(R"({"t":"\ud83d"})", "surrogate");
    expect_invalid(R"({"t":"\ud83dx"})", "surrogate");
}

TEST(Json, RejectsLoneLowSurrogate) {
    expect_invalid(R"({"t":"\udc4d"})", "surrogate");
    expect_invalid(R"({"\udc4d":1})", "surrogate");
}

TEST(Json, RejectsInvalidUtf8) {
    expect_invalid("{\"t\":\"caf\xE9\"}", "invalid JSON at byte 9");
    expect_invalid("{\"t\":\"\xC0\xAF\"}", "Invalid encoding");      // overlong
    expect_invalid("{\"t\":\"\xED\xA0\x80\"}", "Invalid encoding");  // raw surrogate
    expect_invalid("{\"t\":\"\xF0\x9F\x91\"}", "Invalid encoding");  // truncated
}

TEST(Json, FindsInvalidUtf8AnywhereInALongBody) {
    // ASCII bodies skip the reader's validation: one byte above 0x7F, at
    // any offset (within an 8-byte word or in the tail), must bring it back.
    for (std::size_t pad = 0; pad < 20; pad++) {
        std::string text = "{\"t\":\"" + std::string(pad, 'a') + "\xE9\"}";
        expect_invalid(text, "Invalid encoding");
        std::string ok = "{\"t\":\"" + std::string(pad, 'a') + "\xC3\xA9\"}";
        rapidjson::Document doc;
        EXPECT_TRUE(parse(ok, doc).ok()) << pad;
    }
}

TEST(Json, RejectsRawControlCharactersWithOrWithoutValidation) {
    // The same refusal on the ASCII path and on the validated one (é).
    expect_invalid(std::string("{\"t\":\"a\x01\"}"), "at byte 7: Invalid escape character");
    expect_invalid(std::string("{\"t\":\"a\nb\"}"), "at byte 7: Invalid escape character");
    expect_invalid(std::string("{\"t\":\"\xC3\xA9\x01\"}"), "at byte 8: Invalid escape character");
}

TEST(Json, AcceptsRawUtf8) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse("{\"t\":\"caf\xC3\xA9 \xF0\x9F\x91\x8D\"}", doc).ok());
    EXPECT_EQ(std::string(doc["t"].GetString()), "caf\xC3\xA9 \xF0\x9F\x91\x8D");
}

TEST(Json, RejectsNonJson) {
    expect_invalid("hello", "invalid JSON at byte 0: ");
    expect_invalid("", "invalid JSON at byte 0: ");
    expect_invalid("{\"a\":", "invalid JSON at byte");
}

TEST(Json, RejectsTrailingData) {
    expect_invalid(R"({"a":1} x)", "invalid JSON at byte 8: ");
    expect_invalid(R"({"a":1}{})", "invalid JSON at byte");
}

TEST(Json, RejectsTrailingDataAfterNul) {
    std::string text("{\"a\":1}\0{}", 10);
    expect_invalid(text, "invalid JSON at byte 7: ");
}

TEST(Json, RejectsNulInsideString) {
    std::string text("{\"a\":\"x\0y\"}", 11);
    expect_invalid(text, "invalid JSON at byte");
}

TEST(Json, DoesNotReadPastTheView) {
    // The view ends before the closing brace: the parse must not see it.
    std::string text = R"({"a":1})";
    rapidjson::Document doc;
    EXPECT_FALSE(parse(std::string_view(text).substr(0, text.size() - 1), doc).ok());
}

TEST(Json, RejectsDuplicateKeys) {
    rapidjson::Document doc;
    auto r = parse(R"({"a":1,"b":{"x":1},"a":2})", doc);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_json");
    EXPECT_EQ(r.error().message, "duplicate key \"a\"");
}

TEST(Json, RejectsDuplicateKeysInNestedObject) {
    expect_invalid(R"({"entry":[{"id":"1","id":"2"}]})", "duplicate key \"id\"");
}

TEST(Json, AllowsSameKeyInSiblingObjects) {
    rapidjson::Document doc;
    EXPECT_TRUE(parse(R"([{"a":1},{"a":2},{"b":{"a":3}}])", doc).ok());
}

TEST(Json, DuplicateKeysCompareAllBytes) {
    // "a\u0000b" and "a\u0000c" differ only after the NUL.
    rapidjson::Document doc;
    EXPECT_TRUE(parse(R"({"a\u0000b":1,"a\u0000c":2,"a":3})", doc).ok());
    expect_invalid(R"({"a\u0000b":1,"a\u0000b":2})", "duplicate key");
}

// An object of n keys k0..k(n-1), then extra (a member, or empty).
std::string object_of_keys(int n, const std::string& extra) {
    std::string text = "{";
    for (int i = 0; i < n; i++) {
        text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
    }
    text += extra.empty() ? "\"end\":0}" : extra + "}";
    return text;
}

TEST(Json, DuplicateKeysFoundInObjectsOfManyKeys) {
    // Past the first keys, the set is hashed: a duplicate of an early key
    // and of a late one are both found, and distinct keys all pass.
    rapidjson::Document doc;
    EXPECT_TRUE(parse(object_of_keys(100, ""), doc).ok());
    EXPECT_EQ(doc.MemberCount(), 101u);
    expect_invalid(object_of_keys(100, R"("k3":1)"), "duplicate key \"k3\"");
    expect_invalid(object_of_keys(100, R"("k70":1)"), "duplicate key \"k70\"");
    expect_invalid(object_of_keys(32, R"("k31":1)"), "duplicate key \"k31\"");
    expect_invalid(object_of_keys(33, R"("k32":1)"), "duplicate key \"k32\"");
    // A sibling object starts with no keys again.
    EXPECT_TRUE(parse("[" + object_of_keys(40, "") + "," + object_of_keys(40, "") + "]", doc).ok());
}

TEST(Json, AnObjectKeepsItsKeysAcrossTheObjectsInsideIt) {
    // The keys of every open object share one buffer: an inner object's
    // keys go when it closes, and its parent's stay.
    rapidjson::Document doc;
    EXPECT_TRUE(parse(R"({"a":{"b":1,"c":{"d":1}},"b":2,"d":3})", doc).ok());
    expect_invalid(R"({"a":{"b":1},"c":{"a":2},"a":3})", "duplicate key \"a\"");
    expect_invalid(R"({"a":[{"x":1},{"y":{"z":1}}],"x":{"a":1},"x":2})", "duplicate key \"x\"");
    // An inner object hashed (many keys) or not, the outer one still finds
    // its duplicates, compared or hashed.
    expect_invalid(R"({"a":1,"in":)" + object_of_keys(40, "") + R"(,"a":2})",
                   "duplicate key \"a\"");
    EXPECT_TRUE(parse(R"({"a":1,"in":)" + object_of_keys(40, "") + R"(,"k1":2})", doc).ok());
    expect_invalid(object_of_keys(40, R"("in":{"k1":1},"k1":2)"), "duplicate key \"k1\"");
    // A failed parse leaves nothing behind for the next one.
    expect_invalid(R"({"q":{"r":{"s":1,"s":2}}})", "duplicate key \"s\"");
    EXPECT_TRUE(parse(R"({"s":1,"r":2,"q":3})", doc).ok());
}

TEST(Json, EscapedAndRawKeysAreTheSameKey) {
    expect_invalid(R"({"caf\u00e9":1,"caf)"
                   "\xC3\xA9"
                   R"(":2})",
                   "duplicate key");
}

TEST(Json, AcceptsDepth64) {
    rapidjson::Document doc;
    EXPECT_TRUE(parse(nested_arrays(64), doc).ok());
}

TEST(Json, RejectsDepth65) {
    rapidjson::Document doc;
    auto r = parse(nested_arrays(65), doc);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_json");
    EXPECT_EQ(r.error().message, "JSON nested deeper than 64");
}

TEST(Json, DepthCountsObjectsAndArrays) {
    std::string text;
    for (int i = 0; i < 33; i++) {
        text += "{\"a\":[";
    }
    text += "1";
    for (int i = 0; i < 33; i++) {
        text += "]}";
    }
    expect_invalid(text, "nested deeper than 64");
}

TEST(Json, SurvivesVeryDeepNesting) {
    expect_invalid(nested_arrays(1000000), "nested deeper than 64");
}

TEST(Json, RejectsBodyOverLimit) {
    wa::JsonLimits limits;
    limits.max_bytes = 8;
    rapidjson::Document doc;
    auto r = parse(R"({"a":"123"})", doc, limits);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "body larger than 8 bytes");
    EXPECT_TRUE(parse("[1,2,3]", doc, limits).ok());
}

TEST(Json, KeepsFullPrecision) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse("[37.44221496582, 9007199254740993]", doc).ok());
    EXPECT_EQ(wa::to_json(doc), "[37.44221496582,9007199254740993]");
}

TEST(Json, IntegersKeepTheirType) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse("[-5, 0, -0, 4294967296, -9223372036854775808,"
                      " 18446744073709551615, 18446744073709551616]",
                      doc)
                    .ok());
    EXPECT_TRUE(doc[0].IsInt());
    EXPECT_EQ(doc[0].GetInt(), -5);
    EXPECT_TRUE(doc[1].IsUint());
    EXPECT_TRUE(doc[2].IsInt());
    EXPECT_EQ(doc[3].GetInt64(), 4294967296);
    EXPECT_EQ(doc[4].GetInt64(), INT64_MIN);
    EXPECT_EQ(doc[5].GetUint64(), UINT64_MAX);
    EXPECT_TRUE(doc[6].IsDouble());
    EXPECT_DOUBLE_EQ(doc[6].GetDouble(), 18446744073709551616.0);
}

TEST(Json, DoublesAreCorrectlyRounded) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse("[0.1, -122.16165924072, 1E2, 2.2250738585072011e-308,"
                      " 1e-400, -1e-400]",
                      doc)
                    .ok());
    EXPECT_EQ(doc[0].GetDouble(), 0.1);
    EXPECT_EQ(doc[1].GetDouble(), -122.16165924072);
    EXPECT_EQ(doc[2].GetDouble(), 100.0);
    EXPECT_EQ(doc[3].GetDouble(), 2.2250738585072011e-308);
    EXPECT_EQ(doc[4].GetDouble(), 0.0);  // underflow
    EXPECT_EQ(doc[5].GetDouble(), 0.0);
}

TEST(Json, RejectsHugeNumbers) {
    expect_invalid("[1e400]", "Number too big");
    expect_invalid("[1.7976931348623159e308]", "Number too big");
    expect_invalid("[-0.00001e314]", "Number too big");
}

// Crashed RapidJSON 1.1.0's full-precision strtod (fuzzer find).
TEST(Json, ManyLeadingFractionZeros) {
    rapidjson::Document doc;
    std::string text = "0." + std::string(480, '0') + "1675777563";
    ASSERT_TRUE(parse(text, doc).ok());
    EXPECT_EQ(doc.GetDouble(), 0.0);
    text = "0." + std::string(300, '0') + "1675777563";
    ASSERT_TRUE(parse(text, doc).ok());
    EXPECT_EQ(doc.GetDouble(), 1.675777563e-301);
}

TEST(Json, ToJsonIsCompactAndKeepsUtf8) {
    rapidjson::Document doc;
    ASSERT_TRUE(
        parse(R"({ "t" : "caf\u00e9 \ud83d\udc4d \"q\" \n" , "n" : [ 1 , null ] })", doc).ok());
    EXPECT_EQ(wa::to_json(doc),
              "{\"t\":\"caf\xC3\xA9 \xF0\x9F\x91\x8D \\\"q\\\" \\n\",\"n\":[1,null]}");
}

TEST(Json, MemberFindsByExactKey) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse(R"({"a":1,"a\u0000":2})", doc).ok());
    ASSERT_NE(wa::member(doc, "a"), nullptr);
    EXPECT_EQ(wa::member(doc, "a")->GetInt(), 1);
    ASSERT_NE(wa::member(doc, std::string_view("a\0", 2)), nullptr);
    EXPECT_EQ(wa::member(doc, std::string_view("a\0", 2))->GetInt(), 2);
    EXPECT_EQ(wa::member(doc, "b"), nullptr);
    EXPECT_EQ(wa::member(doc["a"], "a"), nullptr);  // not an object
}

TEST(Json, FailedParseLeavesNull) {
    rapidjson::Document doc;
    ASSERT_TRUE(parse("[1]", doc).ok());
    ASSERT_FALSE(parse("[1,", doc).ok());
    EXPECT_TRUE(doc.IsNull());
}

// The writer's copy of strings that need no escape must write what
// RapidJSON's escaping writer writes, for every byte in either position.
TEST(Json, WriterWritesWhatRapidJsonWrites) {
    std::vector<std::string> values = {"", "plain", "wamid.HBgL==", "caf\xc3\xa9 \xf0\x9f\x98\x80",
                                       std::string("nul\0in", 6)};
    for (int b = 0; b < 256; b++) {
        values.push_back(std::string(1, static_cast<char>(b)));
        values.push_back("ab" + std::string(1, static_cast<char>(b)) + "cd");
    }
    for (const std::string& v : values) {
        auto write = [&](auto& w) {
            w.StartObject();
            w.Key(v.data(), static_cast<rapidjson::SizeType>(v.size()));
            w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
            w.Key("list");
            w.StartArray();
            w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
            w.String("x");
            w.EndArray();
            w.EndObject();
        };
        rapidjson::StringBuffer ours_buf, theirs_buf;
        wa::JsonWriter ours(ours_buf);
        rapidjson::Writer<rapidjson::StringBuffer> theirs(theirs_buf);
        write(ours);
        write(theirs);
        EXPECT_EQ(std::string(ours_buf.GetString(), ours_buf.GetSize()),
                  std::string(theirs_buf.GetString(), theirs_buf.GetSize()));
        EXPECT_TRUE(ours.IsComplete());
    }
}

}  // namespace
