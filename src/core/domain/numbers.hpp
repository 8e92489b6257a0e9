// The configured business numbers (whatsapp_number blocks) and routing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.hpp"
#include "domain/signing.hpp"

namespace wa {

struct NumberConfig {
    std::string e164;             // "+14155551234"
    std::string phone_number_id;  // Meta's id: inbound is routed on it
    std::string tenant;
    std::string access_token;                 // Graph API bearer
    std::string app_secret;                   // verifies X-Hub-Signature-256
    std::string callback;                     // where this tenant's events go
    std::shared_ptr<SigningKey> signing_key;  // RSASSA-PSS events (signing_key_file)
    std::string signing_secret;               // decoded whsec_ key (signing_secret_file)
    std::int64_t credits = -1;                // -1: unlimited
    std::uint32_t rate_per_sec = 0;           // 0: unpaced
};

class NumberDirectory {
public:
    // Errors: "duplicate number", "duplicate phone_number_id".
    Result<void> add(NumberConfig n);

    const NumberConfig* by_phone_number_id(std::string_view id) const;
    const NumberConfig* by_e164(std::string_view e164) const;
    const std::vector<NumberConfig>& all() const { return numbers_; }

    // Which numbers' app secrets sign this body: one bit per number, in
    // all() order. Each distinct secret is computed once.
    std::vector<bool> signed_by(std::string_view body, std::string_view header) const;

private:
    std::vector<NumberConfig> numbers_;
    std::unordered_map<std::string, std::size_t> by_id_;
    std::unordered_map<std::string, std::size_t> by_e164_;
};

}  // namespace wa
