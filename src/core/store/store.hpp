// The store: one LMDB environment, named databases, RAII transactions.
// Opened once per worker after fork (LMDB handles must not cross fork()).
// Only store/ knows LMDB: this header names its handles without its header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

typedef struct MDB_env MDB_env;
typedef struct MDB_txn MDB_txn;
typedef struct MDB_cursor MDB_cursor;

namespace wa {

// Named databases. Keys are documented in records.hpp.
enum class Db : unsigned {
    conversations,       // conv uuid -> Conversation
    conversation_pair,   // business e164 '\0' customer -> conv uuid
    messages,            // msg uuid -> Message
    wamids,              // wamid -> msg uuid (inbound dedupe, tx correlation)
    outbox,              // evt uuid -> Event
    outbox_queue,        // conv uuid + seq(8, big endian) -> evt uuid (undelivered only)
    outbox_due,          // next_attempt ns(8, BE) + evt uuid -> "" (pending, not in flight)
    outbox_dead,         // evt uuid -> "" (dead letters, oldest first: UUIDv7 order)
    meta,                // small named values (schema version, counters)
    idempotency,         // bounded(tenant '\0' Idempotency-Key) -> IdempotencyRecord
    idempotency_expiry,  // expires ns(8, BE) + idempotency key -> "" (pruning order)
    scheduled,           // msg uuid -> ScheduledSend (a send waiting for its time)
    scheduled_due,       // due ns(8, BE) + msg uuid -> "" (when to send or retry it)
    // The inbox's indexes (domain/inbox.hpp), written with the records they
    // follow. act = a conversation's activity ns (8, BE), unique store-wide.
    inbox_activity,  // tenant '\0' act conv uuid -> ConversationSummary
    // Before the message chains (Message::previous): conv uuid + created
    // ns(8, BE) + msg uuid -> "". Read once by build_message_chains, then empty.
    conversation_messages,
    // The realtime stream (domain/stream.hpp): what a tenant's sockets see,
    // in commit order. stamp = the store-wide clock (domain/inbox.hpp).
    stream,  // tenant '\0' stamp(8, BE) -> StreamEntry
    media,   // bounded(media id) -> conv uuid: whose message carried it (SPEC §8.4)
    count_
};

class Txn;

class Store {
public:
    struct Options {
        std::string path;                             // directory, created if missing
        std::size_t map_size = std::size_t{1} << 30;  // 0: the size recorded in the store
        bool read_only = false;                       // admin tools
    };

    static Result<std::unique_ptr<Store>> open(const Options& options);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // Write transaction; with a parent, a nested one (commits into the parent).
    Result<Txn> begin_write(Txn* parent = nullptr);
    Result<Txn> begin_read();

    // Makes every commit so far durable (the meta page a commit left unsynced).
    Result<void> sync();

    // An online backup: a compacting copy (free pages left out) of one read
    // snapshot into dir/data.mdb, so writers go on meanwhile (their freed
    // pages are not reused until it ends). dir is created when missing and
    // must be empty otherwise; the copy is flushed to disk and mode 0600,
    // and a failed copy leaves no data.mdb behind. To restore, a store
    // directory holding only that data.mdb.
    Result<void> copy_to(const std::string& dir);

    int clear_stale_readers();  // mdb_reader_check; returns slots cleared
    // Failures of a commit or sync: an I/O error on a full file system says so.
    Error io_error(int mdb_rc, std::string_view what) const;
    struct Usage {
        std::size_t map_size;
        std::size_t used_bytes;
    };
    Usage usage();

    MDB_env* env() { return env_; }
    unsigned dbi(Db db) const { return dbis_[static_cast<unsigned>(db)]; }

private:
    Store() = default;
    MDB_env* env_ = nullptr;
    std::string path_;
    unsigned dbis_[static_cast<unsigned>(Db::count_)] = {};  // MDB_dbi
};

// Map full -> code "store_full"; a key LMDB cannot hold (empty, over 511
// bytes) -> "invalid_key", bad input rather than a store failure; other
// LMDB failures -> "store_error".
Error store_error(int mdb_rc, std::string_view what);

// A failure of the store (worth a retry later), as opposed to bad input.
bool is_store_failure(const Error& e);

class Txn {
public:
    Txn(Txn&& other) noexcept;
    Txn& operator=(Txn&& other) noexcept;
    ~Txn();  // aborts if still open

    Result<void> commit();
    // Commits without the final flush: visible, crash-consistent, but durable
    // only after the next Store::sync() (or synced commit). For a pipeline
    // that syncs several commits at once.
    Result<void> commit_unsynced();
    void abort();
    bool open() const { return txn_ != nullptr; }

    // The value stays valid until the transaction ends or writes that key.
    Result<std::optional<std::string_view>> get(Db db, std::string_view key);
    Result<void> put(Db db, std::string_view key, std::string_view value);
    // no-overwrite insert: false (and no change) when the key already exists
    Result<bool> insert(Db db, std::string_view key, std::string_view value);
    Result<bool> del(Db db, std::string_view key);  // false when absent

    // First key >= from that starts with prefix; nullopt when none.
    struct Entry {
        std::string_view key, value;
    };
    Result<std::optional<Entry>> first_with_prefix(Db db, std::string_view prefix,
                                                   std::string_view from = {});
    // Visit keys in order starting at from; stop when fn returns false.
    template <class Fn>
    Result<void> scan(Db db, std::string_view from, Fn&& fn);
    // Visit keys below `below` (empty: all), greatest first; stop when fn returns false.
    template <class Fn>
    Result<void> scan_back(Db db, std::string_view below, Fn&& fn);

    // Entries in db as this transaction sees them.
    Result<std::size_t> entries(Db db);

    // Bytes this write transaction may still allocate: the map less the
    // pages its B-trees hold (pages on LMDB's free list count as room). An
    // estimate from above: pages this transaction freed are reusable only
    // after it commits.
    std::size_t room();

    Store& store() { return *store_; }
    MDB_txn* raw() { return txn_; }

private:
    friend class Store;
    Txn(Store* store, MDB_txn* txn) : store_(store), txn_(txn) {}
    Result<MDB_cursor*> cursor(Db db);
    // The cursor steps of scan, out of line so that LMDB stays in store.cpp.
    // false at the end; a failure is left in *error.
    static bool cursor_first(MDB_cursor* cur, std::string_view from, Entry& e, int& rc);
    static bool cursor_next(MDB_cursor* cur, Entry& e, int& rc);
    static bool cursor_last_below(MDB_cursor* cur, std::string_view below, Entry& e, int& rc);
    static bool cursor_prev(MDB_cursor* cur, Entry& e, int& rc);
    static void cursor_close(MDB_cursor* cur);

    Store* store_ = nullptr;
    MDB_txn* txn_ = nullptr;
    bool sync_on_commit_ = false;  // top-level write: durable before commit() returns
};

// Counters in Db::meta (8 bytes, little endian): absent reads as 0.
Result<std::uint64_t> read_counter(Txn& txn, std::string_view key);
// Adds delta, saturating at 0; returns the new value.
Result<std::uint64_t> add_counter(Txn& txn, std::string_view key, std::int64_t delta);
Result<void> write_counter(Txn& txn, std::string_view key, std::uint64_t value);

template <class Fn>
Result<void> Txn::scan(Db db, std::string_view from, Fn&& fn) {
    auto c = cursor(db);
    if (!c) return c.error();
    Entry e;
    int rc = 0;
    for (bool more = cursor_first(*c, from, e, rc); more && fn(e);) {
        more = cursor_next(*c, e, rc);
    }
    cursor_close(*c);
    if (rc != 0) return store_error(rc, "scan");
    return {};
}

template <class Fn>
Result<void> Txn::scan_back(Db db, std::string_view below, Fn&& fn) {
    auto c = cursor(db);
    if (!c) return c.error();
    Entry e;
    int rc = 0;
    for (bool more = cursor_last_below(*c, below, e, rc); more && fn(e);) {
        more = cursor_prev(*c, e, rc);
    }
    cursor_close(*c);
    if (rc != 0) return store_error(rc, "scan");
    return {};
}

}  // namespace wa
