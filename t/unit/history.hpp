// A message added to its conversation's history the way the domain's
// writers add one: the conversation loaded, the message linked, both saved.
#pragma once

#include "domain/conversations.hpp"
#include "domain/inbox.hpp"

namespace wa::unit {

inline Result<void> add_to_history(Txn& t, Message& m) {
    auto c = conversation_by_id(t, m.conversation_id);
    if (!c) return c.error();
    if (!*c) return make_error("not_found", "no conversation for the message");
    if (auto r = add_message(t, **c, m); !r) return r;
    return save_conversation(t, **c);
}

}  // namespace wa::unit
