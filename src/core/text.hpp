// User text as Unicode: limits count code points, not bytes (SPEC §6.2).
#pragma once

#include <cstddef>
#include <string_view>

namespace wa {

// Code points in UTF-8 text. Input is expected to be valid (the strict JSON
// parser guarantees it); a stray continuation byte counts as nothing.
std::size_t utf8_length(std::string_view s);

// True when s has nothing visible: only Unicode White_Space (ASCII
// spaces and controls \t\n\v\f\r, U+0085, NBSP, U+1680, U+2000-200A,
// U+2028/2029, U+202F, U+205F, U+3000) or the zero-width U+200B, U+2060,
// U+FEFF, which would send an invisible message. Empty is blank.
bool is_blank(std::string_view s);

}  // namespace wa
