// TypeID (jetify spec v0.3.0) over UUIDv7.
#include "base/ids.hpp"

#include <atomic>
#include <cstring>
#include <mutex>

#include <openssl/rand.h>
#include <pthread.h>

#include "base/chars.hpp"
#include "base/clock.hpp"

namespace wa {

namespace {

constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr size_t kSuffixLen = 26;
constexpr size_t kMaxPrefixLen = 63;
constexpr std::int64_t kMaxMs = (std::int64_t{1} << 48) - 1;

using u128 = unsigned __int128;

Error bad_typeid(std::string msg) { return make_error("invalid_typeid", std::move(msg)); }

// Alphabet index of c, or -1. Lowercase only, no Crockford folding.
int b32_value(char c) {
    for (int i = 0; i < 32; i++) {
        if (kAlphabet[i] == c) {
            return i;
        }
    }
    return -1;
}

u128 uuid_to_u128(const Uuid& u) {
    u128 n = 0;
    for (std::uint8_t b : u) {
        n = (n << 8) | b;
    }
    return n;
}

Uuid u128_to_uuid(u128 n) {
    Uuid u{};
    for (int i = 15; i >= 0; i--) {
        u[static_cast<size_t>(i)] = static_cast<std::uint8_t>(n & 0xff);
        n >>= 8;
    }
    return u;
}

// Random bytes come from a per-thread buffer: one RAND_bytes call per 4 KiB
// instead of one per id (OpenSSL 3 takes DRBG locks on every call).
constexpr size_t kRandBufSize = 4096;

struct RandBuf {
    std::uint8_t bytes[kRandBufSize];
    size_t avail;         // unused bytes at the end of bytes; 0 when empty
    unsigned fork_epoch;  // fork_epoch when filled
};
thread_local RandBuf rand_buf;  // zero-initialized: empty

// Bumped in the child of every fork(): a buffer inherited from the parent
// must not hand out the same bytes in both processes.
std::atomic<unsigned> fork_epoch{0};

void on_fork_child() { fork_epoch.fetch_add(1, std::memory_order_relaxed); }

bool fork_hook_registered() {
    static const bool ok = pthread_atfork(nullptr, nullptr, on_fork_child) == 0;
    return ok;
}

void fill_random(std::uint8_t* p, size_t n) {
    RandBuf& b = rand_buf;
    unsigned epoch = fork_epoch.load(std::memory_order_relaxed);
    if (b.avail < n || b.fork_epoch != epoch) {
        b.avail = 0;
        // Without the fork hook a buffer would not be fork-safe: go unbuffered.
        bool buffered = n <= kRandBufSize && fork_hook_registered();
        std::uint8_t* dst = buffered ? b.bytes : p;
        size_t len = buffered ? kRandBufSize : n;
        if (RAND_bytes(dst, static_cast<int>(len)) != 1) {
            // The OpenSSL DRBG does not fail once seeded; if it ever does, ids
            // stay unique via timestamp and counter, only less unpredictable.
            // The buffer stays empty, so the next id tries again.
            std::memset(p, 0, n);
            return;
        }
        if (!buffered) {
            return;
        }
        b.avail = kRandBufSize;
        b.fork_epoch = epoch;
    }
    std::memcpy(p, b.bytes + (kRandBufSize - b.avail), n);
    b.avail -= n;
}

// Generator state: the last (ms, counter) handed out in this process.
std::mutex gen_mutex;
std::int64_t gen_last_ms = -1;
unsigned gen_last_counter = 0;

}  // namespace

Uuid uuid_v7(std::int64_t unix_ms) {
    if (unix_ms < 0) {
        unix_ms = 0;
    }
    if (unix_ms > kMaxMs) {
        unix_ms = kMaxMs;
    }

    Uuid u{};
    fill_random(u.data(), u.size());

    std::int64_t ms;
    unsigned counter;
    {
        std::lock_guard<std::mutex> lock(gen_mutex);
        if (unix_ms > gen_last_ms) {
            // New millisecond: a random counter start with the top bit clear
            // leaves room for at least 2048 ids before carrying.
            ms = unix_ms;
            counter = ((unsigned{u[6]} << 8) | u[7]) & 0x7ff;
        } else {
            // Same millisecond or the clock went back: keep ordering.
            ms = gen_last_ms;
            counter = gen_last_counter + 1;
            if (counter > 0xfff) {
                counter = 0;
                ms++;
            }
        }
        gen_last_ms = ms;
        gen_last_counter = counter;
    }

    std::uint64_t ts = static_cast<std::uint64_t>(ms);
    for (int i = 0; i < 6; i++) {
        u[static_cast<size_t>(i)] = static_cast<std::uint8_t>(ts >> (40 - 8 * i));
    }
    u[6] = static_cast<std::uint8_t>(0x70 | ((counter >> 8) & 0x0f));
    u[7] = static_cast<std::uint8_t>(counter & 0xff);
    u[8] = static_cast<std::uint8_t>(0x80 | (u[8] & 0x3f));
    return u;
}

Uuid uuid_v7_now() { return uuid_v7(now_ns() / kNsPerMs); }

std::string uuid_to_string(const Uuid& u) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    s.reserve(36);
    for (size_t i = 0; i < u.size(); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            s.push_back('-');
        }
        s.push_back(hex[u[i] >> 4]);
        s.push_back(hex[u[i] & 0x0f]);
    }
    return s;
}

Result<Uuid> uuid_from_string(std::string_view s) {
    if (s.size() != 36) {
        return make_error("invalid_uuid", "uuid must be 36 characters");
    }
    Uuid u{};
    size_t pos = 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return make_error("invalid_uuid", "uuid must be 8-4-4-4-12 hex");
            }
            continue;
        }
        int v = hex_value(s[i]);
        if (v < 0) {
            return make_error("invalid_uuid", "uuid has a non-hex character");
        }
        u[pos / 2] = static_cast<std::uint8_t>(u[pos / 2] | (pos % 2 ? v : v << 4));
        pos++;
    }
    return u;
}

bool typeid_prefix_valid(std::string_view prefix) {
    if (prefix.empty()) {
        return true;
    }
    if (prefix.size() > kMaxPrefixLen) {
        return false;
    }
    for (char c : prefix) {
        if (!((c >= 'a' && c <= 'z') || c == '_')) {
            return false;
        }
    }
    return prefix.front() != '_' && prefix.back() != '_';
}

std::string typeid_encode(std::string_view prefix, const Uuid& u) {
    // 128 bits with two zero bits in front = 26 groups of 5, MSB first.
    u128 n = uuid_to_u128(u);
    char suffix[kSuffixLen];
    for (size_t i = kSuffixLen; i-- > 0;) {
        suffix[i] = kAlphabet[static_cast<unsigned>(n & 0x1f)];
        n >>= 5;
    }

    std::string s;
    s.reserve(prefix.size() + 1 + kSuffixLen);
    if (!prefix.empty()) {
        s.append(prefix);
        s.push_back('_');
    }
    s.append(suffix, kSuffixLen);
    return s;
}

Result<TypeId> typeid_decode(std::string_view s) {
    std::string_view prefix;
    std::string_view suffix = s;

    // Prefixes may contain '_' since v0.3.0: split at the last one.
    size_t sep = s.rfind('_');
    if (sep != std::string_view::npos) {
        prefix = s.substr(0, sep);
        suffix = s.substr(sep + 1);
        if (prefix.empty()) {
            return bad_typeid("typeid has a separator but no prefix");
        }
    }

    if (!typeid_prefix_valid(prefix)) {
        return bad_typeid("typeid prefix is invalid");
    }
    if (suffix.size() != kSuffixLen) {
        return bad_typeid("typeid suffix must be 26 characters");
    }
    if (suffix[0] < '0' || suffix[0] > '7') {
        return bad_typeid("typeid suffix overflows 128 bits");
    }

    u128 n = 0;
    for (char c : suffix) {
        int v = b32_value(c);
        if (v < 0) {
            return bad_typeid("typeid suffix has an invalid character");
        }
        n = (n << 5) | static_cast<unsigned>(v);
    }

    return TypeId{std::string(prefix), u128_to_uuid(n)};
}

Result<Uuid> typeid_decode_as(std::string_view prefix, std::string_view s) {
    Result<TypeId> t = typeid_decode(s);
    if (!t) {
        return t.error();
    }
    if (t->prefix != prefix) {
        return bad_typeid("typeid must have prefix \"" + std::string(prefix) + "\"");
    }
    return t->uuid;
}

}  // namespace wa
