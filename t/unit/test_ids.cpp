// TypeID conformance (shared fixtures) and the UUIDv7 generator.
// RAND_set_rand_method (deprecated in OpenSSL 3) simulates a failing DRBG.
#define OPENSSL_SUPPRESS_DEPRECATED

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <openssl/rand.h>
#include <rapidjson/document.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.hpp"
#include "base/ids.hpp"

#ifndef WA_FIXTURES_DIR
#error "WA_FIXTURES_DIR must be defined (path to shared/fixtures)"
#endif

namespace {

bool read_file(const std::string& path, std::string* out) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        return false;
    }
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
        out->append(buf, n);
    }
    std::fclose(f);
    return true;
}

class TypeIdFixtures : public ::testing::Test {
protected:
    void SetUp() override {
        std::string path = std::string(WA_FIXTURES_DIR) + "/typeid.json";
        ASSERT_TRUE(read_file(path, &text_)) << "cannot read " << path;
        doc_.Parse(text_.c_str(), text_.size());
        ASSERT_FALSE(doc_.HasParseError()) << path;
        ASSERT_TRUE(doc_.IsObject());
        ASSERT_TRUE(doc_.HasMember("valid") && doc_["valid"].IsArray());
        ASSERT_TRUE(doc_.HasMember("invalid") && doc_["invalid"].IsArray());
    }

    std::string text_;
    rapidjson::Document doc_;
};

std::string str(const rapidjson::Value& v, const char* key) {
    auto it = v.FindMember(key);
    if (it == v.MemberEnd() || !it->value.IsString()) {
        return "<missing " + std::string(key) + ">";
    }
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

TEST_F(TypeIdFixtures, ValidVectorsRoundTrip) {
    const auto& valid = doc_["valid"];
    ASSERT_GT(valid.Size(), 0u);
    for (const auto& v : valid.GetArray()) {
        std::string name = str(v, "name");
        std::string tid = str(v, "typeid");
        std::string prefix = str(v, "prefix");
        std::string uuid = str(v, "uuid");

        auto u = wa::uuid_from_string(uuid);
        ASSERT_TRUE(u.ok()) << name << ": " << uuid;
        EXPECT_EQ(wa::uuid_to_string(*u), uuid) << name;
        EXPECT_EQ(wa::typeid_encode(prefix, *u), tid) << name;

        auto d = wa::typeid_decode(tid);
        ASSERT_TRUE(d.ok()) << name << ": " << d.error().message;
        EXPECT_EQ(d->prefix, prefix) << name;
        EXPECT_EQ(d->uuid, *u) << name;

        auto as = wa::typeid_decode_as(prefix, tid);
        ASSERT_TRUE(as.ok()) << name;
        EXPECT_EQ(*as, *u) << name;
    }
}

TEST_F(TypeIdFixtures, InvalidVectorsRejected) {
    const auto& invalid = doc_["invalid"];
    ASSERT_GT(invalid.Size(), 0u);
    for (const auto& v : invalid.GetArray()) {
        // Rows are plain strings; tolerate {"typeid": ...} objects too.
        std::string tid =
            v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : str(v, "typeid");
        auto d = wa::typeid_decode(tid);
        EXPECT_FALSE(d.ok()) << "accepted invalid typeid \"" << tid << "\"";
        if (!d.ok()) {
            EXPECT_EQ(d.error().code, "invalid_typeid");
        }
    }
}

TEST(TypeId, DecodeAsRequiresExactPrefix) {
    const char* id = "im_01k8aq2zggeyssvt53zgvpx63a";
    auto ok = wa::typeid_decode_as("im", id);
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(wa::uuid_to_string(*ok), "019a1571-7e10-77b3-9de8-a3fc376e986a");

    for (const char* p : {"", "i", "imx", "tx", "conv"}) {
        auto bad = wa::typeid_decode_as(p, id);
        ASSERT_FALSE(bad.ok()) << p;
        EXPECT_EQ(bad.error().code, "invalid_typeid");
    }
    // Bare suffix only matches the empty prefix.
    EXPECT_TRUE(wa::typeid_decode_as("", "01k8aq2zggeyssvt53zgvpx63a").ok());
    EXPECT_FALSE(wa::typeid_decode_as("im", "01k8aq2zggeyssvt53zgvpx63a").ok());
    // Malformed input keeps its decode error.
    auto bad = wa::typeid_decode_as("im", "im_8zzzzzzzzzzzzzzzzzzzzzzzzz");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, "invalid_typeid");
}

TEST(TypeId, PrefixValidation) {
    EXPECT_TRUE(wa::typeid_prefix_valid(""));
    EXPECT_TRUE(wa::typeid_prefix_valid("im"));
    EXPECT_TRUE(wa::typeid_prefix_valid("a"));
    EXPECT_TRUE(wa::typeid_prefix_valid("pre_fix"));
    EXPECT_TRUE(wa::typeid_prefix_valid(std::string(63, 'a')));
    EXPECT_FALSE(wa::typeid_prefix_valid(std::string(64, 'a')));
    EXPECT_FALSE(wa::typeid_prefix_valid("_im"));
    EXPECT_FALSE(wa::typeid_prefix_valid("im_"));
    EXPECT_FALSE(wa::typeid_prefix_valid("Im"));
    EXPECT_FALSE(wa::typeid_prefix_valid("i1"));
}

TEST(TypeId, RejectsOddInputs) {
    for (const char* s : {"", "_", "im_", "im", "im_01k8aq2zggeyssvt53zgvpx63a\n",
                          "im_01k8aq2zggeyssvt53zgvpx63A", "im-01k8aq2zggeyssvt53zgvpx63a"}) {
        EXPECT_FALSE(wa::typeid_decode(s).ok()) << s;
    }
    std::string with_nul("im_01k8aq2zggeyssvt53zgvpx63", 28);
    with_nul.push_back('\0');
    EXPECT_FALSE(wa::typeid_decode(with_nul).ok());
}

TEST(Uuid, StringParsing) {
    auto u = wa::uuid_from_string("01890A5D-AC96-774B-BCCE-B302099A8057");
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(wa::uuid_to_string(*u), "01890a5d-ac96-774b-bcce-b302099a8057");

    for (const char* s :
         {"", "01890a5d-ac96-774b-bcce-b302099a805", "01890a5d-ac96-774b-bcce-b302099a80577",
          "01890a5dac96-774b-bcce-b302099a80577", "01890a5d-ac96-774b-bcce_b302099a8057",
          "01890a5d-ac96-774b-bcce-b302099a805g", "01890a5dac96774bbccfb302099a8057"}) {
        EXPECT_FALSE(wa::uuid_from_string(s).ok()) << s;
    }
}

bool is_v7(const wa::Uuid& u) { return (u[6] >> 4) == 7 && (u[8] >> 6) == 2; }

std::int64_t ms_of(const wa::Uuid& u) {
    std::int64_t ms = 0;
    for (int i = 0; i < 6; i++) {
        ms = (ms << 8) | u[static_cast<size_t>(i)];
    }
    return ms;
}

TEST(UuidV7, VersionVariantAndTimestamp) {
    wa::Uuid u = wa::uuid_v7(1761296350736);  // 2025-10-24T08:59:10.736Z
    EXPECT_TRUE(is_v7(u));
    EXPECT_GE(ms_of(u), 1761296350736);

    wa::Uuid n = wa::uuid_v7_now();
    EXPECT_TRUE(is_v7(n));
    EXPECT_GT(ms_of(n), 1700000000000);
}

TEST(UuidV7, StrictlyIncreasingAndRoundTrips) {
    wa::Uuid prev = wa::uuid_v7_now();
    for (int i = 0; i < 10000; i++) {
        wa::Uuid u = wa::uuid_v7_now();
        ASSERT_TRUE(is_v7(u));
        ASSERT_LT(prev, u) << "at " << i;

        std::string tid = wa::typeid_encode("im", u);
        ASSERT_EQ(tid.size(), 29u);
        // Lexicographic order of the text follows the id order.
        ASSERT_LT(wa::typeid_encode("im", prev), tid);
        auto d = wa::typeid_decode_as("im", tid);
        ASSERT_TRUE(d.ok()) << tid;
        ASSERT_EQ(*d, u);
        prev = u;
    }
}

TEST(UuidV7, IncreasingWhenClockStandsStillOrGoesBack) {
    // A fixed ms forces the counter (and its carry into the timestamp) to be
    // used: 5000 ids > 4096 counter values. It is the current ms so the
    // shared generator state ends only a few ms ahead of the real clock.
    const std::int64_t ms = wa::now_ns() / wa::kNsPerMs;
    wa::Uuid prev = wa::uuid_v7(ms);
    for (int i = 0; i < 5000; i++) {
        wa::Uuid u = wa::uuid_v7(i % 2 ? ms : ms - 1000);
        ASSERT_TRUE(is_v7(u));
        ASSERT_LT(prev, u) << "at " << i;
        prev = u;
    }
    EXPECT_GT(ms_of(prev), ms);  // the counter carried at least once
}

// The 62 random bits after the variant (rand_b).
std::array<std::uint8_t, 8> rand_b(const wa::Uuid& u) {
    return {static_cast<std::uint8_t>(u[8] & 0x3f), u[9], u[10], u[11], u[12], u[13], u[14], u[15]};
}

TEST(UuidV7, RandomBitsDifferAcrossIdsAndThreads) {
    // Many buffer refills on this thread and on two others.
    std::vector<wa::Uuid> ids;
    for (int i = 0; i < 3000; i++) {
        ids.push_back(wa::uuid_v7_now());
    }
    std::vector<wa::Uuid> other[2];
    std::thread a([&] {
        for (int i = 0; i < 3000; i++)
            other[0].push_back(wa::uuid_v7_now());
    });
    std::thread b([&] {
        for (int i = 0; i < 3000; i++)
            other[1].push_back(wa::uuid_v7_now());
    });
    a.join();
    b.join();
    ids.insert(ids.end(), other[0].begin(), other[0].end());
    ids.insert(ids.end(), other[1].begin(), other[1].end());

    std::set<std::array<std::uint8_t, 8>> seen;
    for (const wa::Uuid& u : ids) {
        ASSERT_TRUE(is_v7(u));
        EXPECT_TRUE(seen.insert(rand_b(u)).second) << wa::uuid_to_string(u);
    }
}

// Reads exactly n bytes, or fewer at EOF.
size_t read_full(int fd, std::uint8_t* p, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r <= 0) {
            break;
        }
        got += static_cast<size_t>(r);
    }
    return got;
}

TEST(UuidV7, ForkedProcessesDoNotShareBufferedRandomBytes) {
    // The nginx master may make ids (filling its buffer) before it forks
    // the workers; two children forked from the same state must not draw
    // the same bytes, nor the parent after them.
    constexpr int kIds = 8;
    ASSERT_TRUE(is_v7(wa::uuid_v7_now()));  // the buffer is now filled

    std::vector<wa::Uuid> ids;
    for (int child = 0; child < 2; child++) {
        int fds[2];
        ASSERT_EQ(pipe(fds), 0);
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            close(fds[0]);
            for (int i = 0; i < kIds; i++) {
                wa::Uuid u = wa::uuid_v7_now();
                if (write(fds[1], u.data(), u.size()) != static_cast<ssize_t>(u.size())) {
                    _exit(1);
                }
            }
            _exit(0);
        }
        close(fds[1]);
        for (int i = 0; i < kIds; i++) {
            wa::Uuid u{};
            ASSERT_EQ(read_full(fds[0], u.data(), u.size()), u.size()) << "child " << child;
            ids.push_back(u);
        }
        close(fds[0]);
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << child;
    }
    for (int i = 0; i < kIds; i++) {
        ids.push_back(wa::uuid_v7_now());
    }

    std::set<std::array<std::uint8_t, 8>> seen;
    for (const wa::Uuid& u : ids) {
        ASSERT_TRUE(is_v7(u));
        EXPECT_TRUE(seen.insert(rand_b(u)).second)
            << "repeated random bits in " << wa::uuid_to_string(u);
    }
}

int failing_rand_bytes(unsigned char*, int) { return 0; }
int failing_rand_status() { return 0; }

TEST(UuidV7, FailingRandomSourceGivesZeroRandomBitsThenRecovers) {
    // As before buffering: a failing RAND_bytes leaves zero random bits
    // (order still comes from timestamp and counter), and the next id asks
    // the DRBG again. A new thread starts with an empty buffer.
    RAND_METHOD failing = {};
    failing.bytes = failing_rand_bytes;
    failing.pseudorand = failing_rand_bytes;
    failing.status = failing_rand_status;

    const std::array<std::uint8_t, 8> zero{};
    wa::Uuid before = wa::uuid_v7_now();
    wa::Uuid bad{}, bad_again{}, good{};
    std::thread t([&] {
        const RAND_METHOD* saved = RAND_get_rand_method();
        ASSERT_EQ(RAND_set_rand_method(&failing), 1);
        bad = wa::uuid_v7_now();
        bad_again = wa::uuid_v7_now();  // the failed refill left no buffer behind
        ASSERT_EQ(RAND_set_rand_method(saved), 1);
        good = wa::uuid_v7_now();
    });
    t.join();

    EXPECT_TRUE(is_v7(bad));
    EXPECT_EQ(rand_b(bad), zero) << wa::uuid_to_string(bad);
    EXPECT_EQ(rand_b(bad_again), zero) << wa::uuid_to_string(bad_again);
    EXPECT_LT(before, bad);
    EXPECT_LT(bad, bad_again);
    EXPECT_LT(bad_again, good);
    EXPECT_NE(rand_b(good), zero) << wa::uuid_to_string(good);
}

}  // namespace
