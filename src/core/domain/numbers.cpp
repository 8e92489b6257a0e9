#include "domain/numbers.hpp"

#include <map>

#include "base/crypto.hpp"

namespace wa {

Result<void> NumberDirectory::add(NumberConfig n) {
    if (by_e164_.count(n.e164)) {
        return make_error("invalid_config", "duplicate number \"" + n.e164 + "\"");
    }
    if (by_id_.count(n.phone_number_id)) {
        return make_error("invalid_config",
                          "duplicate phone_number_id \"" + n.phone_number_id + "\"");
    }
    std::size_t i = numbers_.size();
    by_e164_.emplace(n.e164, i);
    by_id_.emplace(n.phone_number_id, i);
    numbers_.push_back(std::move(n));
    return {};
}

const NumberConfig* NumberDirectory::by_phone_number_id(std::string_view id) const {
    auto it = by_id_.find(std::string(id));
    return it == by_id_.end() ? nullptr : &numbers_[it->second];
}

const NumberConfig* NumberDirectory::by_e164(std::string_view e164) const {
    auto it = by_e164_.find(std::string(e164));
    return it == by_e164_.end() ? nullptr : &numbers_[it->second];
}

std::vector<bool> NumberDirectory::signed_by(std::string_view body, std::string_view header) const {
    std::vector<bool> out(numbers_.size(), false);
    // Numbers of one Meta app share its secret: HMAC the body once per secret.
    std::map<std::string_view, bool> verdict;
    for (std::size_t i = 0; i < numbers_.size(); i++) {
        const std::string& secret = numbers_[i].app_secret;
        auto [it, fresh] = verdict.try_emplace(secret, false);
        if (fresh) it->second = verify_hub_signature(secret, body, header);
        out[i] = it->second;
    }
    return out;
}

}  // namespace wa
