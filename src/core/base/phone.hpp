// Phone numbers: Meta's wa_id to E.164, and validation (libphonenumber).
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace wa {

// "+" then 1-15 digits, first digit not 0: the canonical E.164 text form.
bool is_canonical_e164(std::string_view s);

// Canonical and a *possible* number for its country per libphonenumber
// (length rules; an unassigned country code fails). Not IsValidNumber.
bool is_possible_e164(std::string_view s);

// Meta's "from"/"wa_id": digits, optionally with a leading "+"; returns "+digits".
// Error code "invalid_phone_number" for anything else.
Result<std::string> normalize_wa_id(std::string_view s);

}  // namespace wa
