// Internal to src/core/meta/webhook*.cpp: a message's "content" object,
// one decoder per Meta message type (the table is in the README).
#pragma once

#include <string>
#include <vector>

#include "meta/webhook.hpp"
#include "meta/webhook_fields.hpp"

namespace wa::webhook_detail {

// m.content_json: {"type", "text", <type part>, errors?, forwarded?,
// referral?}, and m.text; m.reaction_to for a reaction. msg is the message
// object at path; m.type and m.forwarded are already decoded.
Result<void> build_content(const Value& msg, const std::string& path,
                           const std::vector<MetaError>& errors, InboundMessage& m);

}  // namespace wa::webhook_detail
