// The inbox's indexes (domain/inbox): kept by save_conversation in the
// writing transaction, pages that skip nothing while conversations move,
// messages newest first, patches and the unread count.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "domain/conversations.hpp"
#include "domain/inbox.hpp"
#include "history.hpp"
#include "store_fixture.hpp"

namespace wa::unit {
namespace {

class Inbox : public StoreFixture {
protected:
    // A conversation of tenant, active at ns (as an inbound message leaves it).
    Uuid add(std::string tenant, std::string customer, std::int64_t ns, std::string name = {}) {
        Conversation c;
        c.id = uuid_v7_now();
        c.tenant = std::move(tenant);
        c.customer = std::move(customer);
        c.customer_name = std::move(name);
        c.created_at_ns = ns;
        c.last_inbound_at_ns = ns;
        Txn t = write();
        EXPECT_TRUE(save_conversation(t, c).ok());
        EXPECT_TRUE(t.commit().ok());
        return c.id;
    }

    Conversation load(const Uuid& id) {
        Txn t = read();
        auto c = tenant_conversation(t, id, "acme", std::nullopt);
        EXPECT_TRUE(c.ok() && c->has_value());
        return **c;
    }

    // New activity, as the next inbound message leaves it.
    void touch(const Uuid& id, std::int64_t ns) {
        Txn t = write();
        auto c = tenant_conversation(t, id, "acme", std::nullopt);
        ASSERT_TRUE(c.ok() && c->has_value());
        (*c)->last_inbound_at_ns = ns;
        (*c)->unread_count++;
        ASSERT_TRUE(save_conversation(t, **c).ok());
        ASSERT_TRUE(t.commit().ok());
    }

    ConversationPage page(ListQuery q) {
        Txn t = read();
        auto p = list_conversations(t, q);
        EXPECT_TRUE(p.ok()) << p.error().message;
        return p.ok() ? std::move(*p) : ConversationPage{};
    }

    std::size_t entries(Db db) {
        Txn t = read();
        return *t.entries(db);
    }

    static ListQuery acme(std::size_t limit = 20) {
        ListQuery q;
        q.tenant = "acme";
        q.limit = limit;
        return q;
    }
};

TEST_F(Inbox, ListsMostRecentlyActiveFirstAndOnlyTheTenant) {
    Uuid a = add("acme", "+1", 1000);
    Uuid b = add("acme", "+2", 2000);
    add("globex", "+3", 3000);
    auto p = page(acme());
    ASSERT_EQ(p.conversations.size(), 2u);
    EXPECT_EQ(p.conversations[0].id, b);
    EXPECT_EQ(p.conversations[1].id, a);
    EXPECT_FALSE(p.next);
    touch(a, 4000);
    p = page(acme());
    EXPECT_EQ(p.conversations[0].id, a);
}

TEST_F(Inbox, ActivityIsStampedUniqueAndIncreasing) {
    Uuid a = add("acme", "+1", 5000);
    Uuid b = add("acme", "+2", 5000);  // the same ns, and one from the past
    Uuid c = add("acme", "+3", 10);
    EXPECT_LT(load(a).last_inbound_at_ns, load(b).last_inbound_at_ns);
    EXPECT_LT(load(b).last_inbound_at_ns, load(c).last_inbound_at_ns);
}

TEST_F(Inbox, AMoveLeavesOneEntry) {
    Uuid a = add("acme", "+1", 1000);
    for (int i = 0; i < 5; i++)
        touch(a, 2000 + i);
    Txn t = write();
    auto c = tenant_conversation(t, a, "acme", std::nullopt);
    (*c)->status = "closed";
    (*c)->assignee = "ada";
    ASSERT_TRUE(save_conversation(t, **c).ok());
    ASSERT_TRUE(t.commit().ok());
    EXPECT_EQ(entries(Db::inbox_activity), 1u);
}

TEST_F(Inbox, PagesSkipNothingWhileConversationsMove) {
    std::vector<Uuid> ids;
    for (int i = 0; i < 100; i++)
        ids.push_back(add("acme", "+" + std::to_string(i), 1000 + i));
    std::set<Uuid> seen;
    ListQuery q = acme(7);
    int pages = 0;
    std::int64_t now = 10000;
    for (;;) {
        auto p = page(q);
        for (const auto& c : p.conversations)
            seen.insert(c.id);
        pages++;
        if (!p.next) break;
        q.after = p.next;
        // The oldest (not listed yet) jump to the top, and so does a listed one.
        touch(ids[static_cast<std::size_t>(pages - 1)], now++);
        touch(ids[99], now++);
        ASSERT_LT(pages, 60);
    }
    EXPECT_EQ(seen.size(), 100u);
}

TEST_F(Inbox, FiltersReadTheSummary) {
    Uuid a = add("acme", "+33611", 1000, "Ada Lovelace");
    Uuid b = add("acme", "+33622", 2000, "Bob");
    {
        Txn t = write();
        ConversationPatch p;
        p.status = "closed";
        p.set_assignee = true;
        p.assignee = "ada";
        auto r = patch_conversation(t, a, "acme", std::nullopt, p);
        ASSERT_TRUE(r.ok() && r->has_value());
        ASSERT_TRUE(t.commit().ok());
    }
    auto ids = [&](ConversationFilter f) {
        ListQuery q = acme();
        q.filter = std::move(f);
        std::vector<Uuid> out;
        for (const auto& c : page(q).conversations)
            out.push_back(c.id);
        return out;
    };
    EXPECT_EQ(ids({"closed", "", std::nullopt, ""}), std::vector<Uuid>{a});
    EXPECT_EQ(ids({"open", "", std::nullopt, ""}), std::vector<Uuid>{b});
    EXPECT_EQ(ids({"", "", std::string("ada"), ""}), std::vector<Uuid>{a});
    EXPECT_EQ(ids({"", "", std::string(), ""}), std::vector<Uuid>{b});
    EXPECT_EQ(ids({"", "human", std::nullopt, "lovelace"}), std::vector<Uuid>{a});
    EXPECT_EQ(ids({"", "", std::nullopt, "622"}), std::vector<Uuid>{b});
    EXPECT_EQ(ids({"", "ai", std::nullopt, ""}), std::vector<Uuid>{});
}

TEST_F(Inbox, AConversationKeyListsOnlyItsConversation) {
    Uuid a = add("acme", "+1", 1000);
    add("acme", "+2", 2000);
    ListQuery q = acme();
    q.only = a;
    auto p = page(q);
    ASSERT_EQ(p.conversations.size(), 1u);
    EXPECT_EQ(p.conversations[0].id, a);
    Uuid theirs = add("globex", "+3", 3000);
    q.only = theirs;
    EXPECT_TRUE(page(q).conversations.empty());
}

TEST_F(Inbox, AnotherTenantsConversationIsNotFound) {
    Uuid theirs = add("globex", "+3", 3000);
    Txn t = write();
    auto c = tenant_conversation(t, theirs, "acme", std::nullopt);
    ASSERT_TRUE(c.ok());
    EXPECT_FALSE(c->has_value());
    ConversationPatch p;
    p.mode = "ai";
    auto r = patch_conversation(t, theirs, "acme", std::nullopt, p);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->has_value());
}

TEST_F(Inbox, AnyTenantsConversationById) {
    Uuid theirs = add("globex", "+3", 3000, "Ada");
    Txn t = read();
    auto c = conversation_by_id(t, theirs);
    ASSERT_TRUE(c.ok() && c->has_value());
    EXPECT_EQ((*c)->tenant, "globex");
    EXPECT_EQ((*c)->customer_name, "Ada");
    EXPECT_TRUE((*c)->indexed.stored);  // ready to be saved
    auto none = conversation_by_id(t, uuid_v7_now());
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
}

TEST_F(Inbox, MessagesNewestFirstBefore) {
    Uuid a = add("acme", "+1", 1000);
    Uuid b = add("acme", "+2", 1000);
    std::vector<Uuid> ids;
    {
        Txn t = write();
        for (int i = 0; i < 5; i++) {
            Message m;
            m.id = uuid_v7_now();
            m.conversation_id = a;
            m.text = "m" + std::to_string(i);
            ASSERT_TRUE(add_to_history(t, m).ok());
            ids.push_back(m.id);
            m.id = uuid_v7_now();  // the other conversation's, in between
            m.conversation_id = b;
            ASSERT_TRUE(add_to_history(t, m).ok());
        }
        ASSERT_TRUE(t.commit().ok());
    }
    Txn t = read();
    auto all = conversation_messages(t, a, 3, std::nullopt);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 3u);
    EXPECT_EQ((*all)[0].text, "m4");
    EXPECT_EQ((*all)[2].text, "m2");
    auto older = conversation_messages(t, a, 10, ids[2]);
    ASSERT_EQ(older->size(), 2u);
    EXPECT_EQ((*older)[0].text, "m1");
    EXPECT_TRUE(conversation_messages(t, uuid_v7_now(), 10, std::nullopt)->empty());
    EXPECT_TRUE(conversation_messages(t, b, 10, ids[2])->empty());  // a's message
    EXPECT_EQ(conversation_messages(t, b, 10, std::nullopt)->size(), 5u);
    auto newest = newest_message(t, load(a));
    ASSERT_TRUE(newest.ok() && newest->has_value());
    EXPECT_EQ((*newest)->id, ids[4]);
    Conversation none = load(add("acme", "+3", 1000));
    EXPECT_FALSE(newest_message(t, none)->has_value());
}

// A store of the version before the chains: its conversations' messages
// in Db::conversation_messages (oldest first by created time), none linked.
TEST_F(Inbox, MessageChainsOfAnOlderStoreAreBuiltOnce) {
    Uuid a = add("acme", "+1", 1000), b = add("acme", "+2", 1000);
    std::vector<Uuid> of_a;
    {
        Txn t = write();
        for (int i = 0; i < 6; i++) {
            Message m;
            m.id = uuid_v7_now();
            m.conversation_id = i % 2 ? b : a;
            m.text = "m" + std::to_string(i);
            m.created_at_ns = 10000 - i;  // index order, not id order, decides
            ASSERT_TRUE(t.put(Db::messages, key_of(m.id), encode(m)).ok());
            std::string index =
                std::string(key_of(m.conversation_id)) + time_key(m.created_at_ns, key_of(m.id));
            ASSERT_TRUE(t.put(Db::conversation_messages, index, "").ok());
            if (m.conversation_id == a) of_a.push_back(m.id);
        }
        // An index entry whose message is gone links nothing.
        ASSERT_TRUE(t.put(Db::conversation_messages,
                          std::string(key_of(a)) + time_key(1, key_of(uuid_v7_now())), "")
                        .ok());
        ASSERT_TRUE(t.commit().ok());
    }
    {
        Txn t = write();
        auto chained = build_message_chains(t);
        ASSERT_TRUE(chained.ok()) << chained.error().message;
        ASSERT_TRUE(chained->has_value());
        EXPECT_EQ(**chained, 6u);
        ASSERT_TRUE(t.commit().ok());
    }
    EXPECT_EQ(entries(Db::conversation_messages), 0u);
    Txn t = read();
    auto history = conversation_messages(t, a, 10, std::nullopt);
    ASSERT_TRUE(history.ok());
    ASSERT_EQ(history->size(), 3u);  // newest (largest created) first: m0, m2, m4
    EXPECT_EQ((*history)[0].id, of_a[0]);
    EXPECT_EQ((*history)[1].id, of_a[1]);
    EXPECT_EQ((*history)[2].id, of_a[2]);
    EXPECT_EQ(conversation_messages(t, b, 10, std::nullopt)->size(), 3u);
}

TEST_F(Inbox, AReadClearsOnlyWhatItShowed) {
    Uuid a = add("acme", "+1", 1000);
    touch(a, 2000);
    touch(a, 3000);  // two unread
    {
        Txn t = write();
        ASSERT_TRUE(mark_read(t, a, 1).ok());  // one came after the read
        ASSERT_TRUE(t.commit().ok());
    }
    EXPECT_EQ(load(a).unread_count, 1u);
}

TEST_F(Inbox, StatusRules) {
    Conversation c;
    c.status = "closed";
    await_customer(c);
    EXPECT_EQ(c.status, "closed");
    reopen_on_inbound(c);
    EXPECT_EQ(c.status, "open");
    await_customer(c);
    EXPECT_EQ(c.status, "pending_customer");
    EXPECT_EQ(Conversation{}.mode, "human");
}

TEST_F(Inbox, IndexesOfAnOlderStoreAreBuiltOnce) {
    Uuid id = uuid_v7_now();
    {
        Txn t = write();
        Conversation c;
        c.id = id;
        c.tenant = "acme";
        c.customer = "+1";
        c.last_inbound_at_ns = 500;
        ASSERT_TRUE(t.put(Db::conversations, key_of(c.id), encode(c)).ok());  // no index
        Message m;
        m.id = uuid_v7_now();
        m.conversation_id = id;
        ASSERT_TRUE(t.put(Db::messages, key_of(m.id), encode(m)).ok());
        ASSERT_TRUE(t.commit().ok());
    }
    Txn t = write();
    auto built = build_inbox_indexes(t);
    ASSERT_TRUE(built.ok() && built->has_value());
    EXPECT_EQ(**built, 1u);
    auto again = build_inbox_indexes(t);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->has_value());
    auto chained = build_message_chains(t);
    ASSERT_TRUE(chained.ok() && chained->has_value());
    EXPECT_EQ(**chained, 1u);
    ASSERT_TRUE(build_message_chains(t).ok());
    EXPECT_FALSE(build_message_chains(t)->has_value());
    ASSERT_TRUE(t.commit().ok());
    auto p = page(acme());
    ASSERT_EQ(p.conversations.size(), 1u);
    EXPECT_EQ(entries(Db::conversation_messages), 0u);
    {
        Txn r = read();
        auto history = conversation_messages(r, id, 10, std::nullopt);
        ASSERT_TRUE(history.ok());
        EXPECT_EQ(history->size(), 1u);
    }
    // New activity lands above what was there.
    touch(id, 100);
    EXPECT_GT(load(id).last_inbound_at_ns, 500);
}

TEST_F(Inbox, ValuesOfTheFields) {
    EXPECT_TRUE(valid_conversation_status("pending_customer"));
    EXPECT_FALSE(valid_conversation_status("archived"));
    EXPECT_TRUE(valid_conversation_mode("ai"));
    EXPECT_FALSE(valid_conversation_mode("AI"));
    EXPECT_TRUE(valid_assignee("ada@example.com"));
    EXPECT_FALSE(valid_assignee(""));
    EXPECT_FALSE(valid_assignee(std::string(129, 'a')));
    EXPECT_FALSE(valid_assignee("tab\there"));
}

}  // namespace
}  // namespace wa::unit
